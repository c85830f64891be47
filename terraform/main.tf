module "registry" {
  source = "../modules/model-registry"

  table_name  = var.registry_table_name
  kms_key_arn = var.kms_key_arn
}

module "gc_iam" {
  source = "../modules/gc-iam"

  name_prefix            = "artifact-gc-${var.environment}"
  bucket_name            = var.bucket_name # the ARN is computed from the name: no cycle with the bucket policy
  partition              = data.aws_partition.current.partition
  gc_prefixes            = var.gc_prefixes
  registry_table_arn     = module.registry.arn
  kms_key_arns           = var.kms_key_arn == null ? [] : [var.kms_key_arn]
  trusted_principal_arns = var.gc_trusted_principal_arns
  github_oidc            = var.github_oidc
}

module "bucket" {
  source = "../modules/artifact-bucket"

  bucket_name                       = var.bucket_name
  force_destroy                     = var.force_destroy
  kms_key_arn                       = var.kms_key_arn
  lifecycle_tiers                   = var.tiers
  housekeeping                      = var.housekeeping
  quarantine                        = var.quarantine
  conditional_delete_principal_arns = var.require_conditional_deletes ? [module.gc_iam.runner_role_arn] : []
  inventory                         = var.inventory
}
