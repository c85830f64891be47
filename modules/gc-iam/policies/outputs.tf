output "runner_policy_json" {
  description = "Policy of the runner role: reads, plus delete and tag only under the GC prefixes."
  value       = jsonencode(local.runner_policy)
}

output "planner_policy_json" {
  description = "Policy of the planner role: the same reads, no writes or deletes in the bucket (with spark_planner: writes of plan folders under its output prefix)."
  value       = jsonencode(local.planner_policy)

  precondition {
    condition     = var.spark_planner == null ? true : var.spark_planner.output_bucket_arn != local.bucket_arn
    error_message = "spark_planner.output_bucket_arn is the artifact bucket: plans go to another bucket, the planner never writes in the one it plans."
  }
}

output "trust_policy_json" {
  description = "Trust policy of both roles: the given principals and, optionally, GitHub Actions OIDC subjects."
  value       = jsonencode(local.trust_policy)

  precondition {
    condition     = !var.require_one_trust || length(local.trust_policy.Statement) > 0
    error_message = "Nobody could assume the GC roles: give trusted_principal_arns or github_oidc."
  }
}

output "planner_trust_policy_json" {
  description = "Trust policy of the planner role: trust_policy_json plus, with spark_planner, the Spark job services of this account."
  value       = jsonencode(local.planner_trust_policy)
}

output "bucket_arn" {
  description = "ARN of the artifact bucket, computed from its name (no provider needed)."
  value       = local.bucket_arn
}
