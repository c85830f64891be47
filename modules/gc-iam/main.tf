module "policies" {
  source = "./policies"

  bucket_name            = var.bucket_name
  partition              = var.partition
  gc_prefixes            = var.gc_prefixes
  registry_table_arn     = var.registry_table_arn
  kms_key_arns           = var.kms_key_arns
  trusted_principal_arns = var.trusted_principal_arns
  github_oidc            = var.github_oidc
  sagemaker_read         = var.sagemaker_read
  inventory_read         = var.inventory_read
  spark_planner          = var.spark_planner
}

resource "aws_iam_role" "runner" {
  name                 = "${var.name_prefix}-runner"
  description          = "artifact-gc apply: deletes unreferenced artifacts under the GC prefixes only"
  assume_role_policy   = module.policies.trust_policy_json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "runner" {
  name   = "artifact-gc-runner"
  role   = aws_iam_role.runner.id
  policy = module.policies.runner_policy_json
}

resource "aws_iam_role" "planner" {
  name                 = "${var.name_prefix}-planner"
  description          = "artifact-gc plan and report: read-only"
  assume_role_policy   = module.policies.planner_trust_policy_json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "planner" {
  name   = "artifact-gc-planner"
  role   = aws_iam_role.planner.id
  policy = module.policies.planner_policy_json
}
