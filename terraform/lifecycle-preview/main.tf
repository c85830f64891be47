# Only the lifecycle inputs of ../envs/*.tfvars are declared here; Terraform warns about the others.
variable "tiers" {
  description = "As in the root module."
  type        = map(map(number))
}

variable "housekeeping" {
  description = "As in the root module."
  type = object({
    enabled                      = optional(bool)
    expired_object_delete_marker = optional(bool)
    abort_multipart_days         = optional(number)
    noncurrent_expire_days       = optional(number)
  })
  default = {}
}

variable "quarantine" {
  description = "As in the root module."
  type = object({
    tag_key   = string
    tag_value = string
    days      = number
  })
  default = null
}

module "lifecycle" {
  source = "../../modules/lifecycle-policy"

  tiers        = var.tiers
  housekeeping = var.housekeeping
  quarantine   = var.quarantine
}

output "lifecycle_configuration" {
  description = "The lifecycle configuration in the S3 API (boto3) shape."
  value       = module.lifecycle.lifecycle_configuration
}

output "transition_default_minimum_object_size" {
  description = "Bucket-level minimum object size for transitions."
  value       = module.lifecycle.transition_default_minimum_object_size
}

output "warnings" {
  description = "Costly but accepted settings."
  value       = module.lifecycle.warnings
}
