module "registry" {
  source = "../modules/model-registry"

  table_name  = var.registry_table_name
  kms_key_arn = var.kms_key_arn
}

module "gc_iam" {
  source = "../modules/gc-iam"

  name_prefix = "artifact-gc-${var.environment}"
  bucket_name = var.bucket_name # the ARN is computed from the name: no cycle with the bucket policy
  partition   = data.aws_partition.current.partition
  gc_prefixes = var.gc_prefixes
  # Computed from known values (not module.registry.arn) so that the policy documents are known at plan
  # time and `artifact-gc tf-gate` can verify them instead of refusing an unknown policy.
  registry_table_arn     = "arn:${data.aws_partition.current.partition}:dynamodb:${var.region}:${data.aws_caller_identity.current.account_id}:table/${var.registry_table_name}"
  kms_key_arns           = var.kms_key_arn == null ? [] : [var.kms_key_arn]
  trusted_principal_arns = var.gc_trusted_principal_arns
  github_oidc            = var.github_oidc
  sagemaker_read         = var.sagemaker_registry
  inventory_read = var.inventory == null ? null : {
    bucket_arn = var.inventory.destination_bucket_arn
    prefix     = "${var.inventory.prefix}/${var.bucket_name}/"
  }
  spark_planner = var.spark_planner
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
