output "gc_config" {
  description = "Everything artifact-gc needs: `artifact-gc plan --tf-dir terraform` reads this output."
  value = {
    bucket           = module.bucket.name
    region           = var.region
    account_id       = data.aws_caller_identity.current.account_id
    registry_table   = module.registry.name
    path_attribute   = module.registry.path_attribute
    gc_prefixes      = var.gc_prefixes
    min_age_days     = var.min_age_days
    runner_role_arn  = module.gc_iam.runner_role_arn
    planner_role_arn = module.gc_iam.planner_role_arn
    quarantine_tag   = var.quarantine == null ? null : { key = var.quarantine.tag_key, value = var.quarantine.tag_value }
    sagemaker        = var.sagemaker_registry
    # S3 Inventory as the object source of `plan` (null when the inventory is off)
    inventory         = module.bucket.inventory_location
    max_inventory_age = var.inventory == null ? null : var.inventory.max_age
  }
}

output "bucket_arn" {
  description = "ARN of the artifact bucket."
  value       = module.bucket.arn
}

output "lifecycle_configuration" {
  description = "The bucket's lifecycle configuration (S3 API shape): what `artifact-gc` lints and simulates."
  value       = module.bucket.lifecycle_configuration
}

output "lifecycle_warnings" {
  description = "Lifecycle settings S3 accepts but bills badly or ignores."
  value       = module.bucket.lifecycle_warnings
}
