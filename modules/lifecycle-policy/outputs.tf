output "rules" {
  description = "One object per lifecycle rule (id, prefix, tag, transitions, expiration_days, expired_object_delete_marker, noncurrent_expire_days, newer_noncurrent_versions, abort_multipart_days), for dynamic blocks."
  value       = local.rules

  precondition {
    condition     = length(local.tier_errors) == 0
    error_message = "S3 would reject these lifecycle tiers:\n${join("\n", local.tier_errors)}"
  }
}

output "lifecycle_configuration" {
  description = "The lifecycle configuration exactly as S3 PutBucketLifecycleConfiguration (boto3 LifecycleConfiguration) accepts it."
  value       = local.lifecycle_configuration
}

output "transition_default_minimum_object_size" {
  description = "The bucket-level minimum object size for transitions, passed through for the bucket module."
  value       = var.transition_default_minimum_object_size
}

output "warnings" {
  description = "What S3 accepts but bills badly or ignores: early deletion before a minimum storage duration, tier settings the housekeeping rule overrides."
  value       = concat(local.tier_warnings, local.housekeeping_warnings)
}
