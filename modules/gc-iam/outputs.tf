output "runner_role_arn" {
  description = "ARN of the runner role (artifact-gc apply)."
  value       = aws_iam_role.runner.arn
}

output "planner_role_arn" {
  description = "ARN of the read-only planner role (artifact-gc plan, report)."
  value       = aws_iam_role.planner.arn
}

output "runner_policy_json" {
  description = "The runner role's policy document."
  value       = module.policies.runner_policy_json
}

output "planner_policy_json" {
  description = "The planner role's policy document."
  value       = module.policies.planner_policy_json
}

output "trust_policy_json" {
  description = "The roles' trust policy."
  value       = module.policies.trust_policy_json
}

output "planner_trust_policy_json" {
  description = "The planner role's trust policy: trust_policy_json plus, with spark_planner, the Spark job services."
  value       = module.policies.planner_trust_policy_json
}
