variable "bucket_name" {
  description = "Name of the artifact bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^\\d+\\.\\d+\\.\\d+\\.\\d+$|^xn--|-s3alias$|--ol-s3$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, not an IP address, no '..'."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a non-empty bucket. Off: artifacts must never go with a stray destroy."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for SSE-KMS with S3 Bucket Keys; null uses SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key or alias ARN."
  }
}

variable "lifecycle_tiers" {
  description = "Storage tiers by key prefix; see modules/lifecycle-policy (variable tiers)."
  type        = map(map(number))
  default     = {}
}

variable "housekeeping" {
  description = "Whole-bucket cleanup rule; see modules/lifecycle-policy (variable housekeeping)."
  type = object({
    enabled                      = optional(bool)
    expired_object_delete_marker = optional(bool)
    abort_multipart_days         = optional(number)
    noncurrent_expire_days       = optional(number)
  })
  default = {}
}

variable "quarantine" {
  description = "Expire objects the GC tagged for quarantine; see modules/lifecycle-policy (variable quarantine)."
  type = object({
    tag_key   = string
    tag_value = string
    days      = number
  })
  default = null
}

variable "transition_default_minimum_object_size" {
  description = "\"all_storage_classes_128K\" (S3's default) or \"varies_by_storage_class\"."
  type        = string
  default     = "all_storage_classes_128K"
}

variable "conditional_delete_principal_arns" {
  description = "Principals (e.g. the GC runner role) whose s3:DeleteObject calls must carry If-Match (an ETag), enforced by the bucket policy."
  type        = list(string)
  default     = []
}

variable "inventory" {
  description = "Daily S3 Inventory in Parquet of all versions: destination bucket ARN and key prefix. Null: off."
  type = object({
    destination_bucket_arn = string
    prefix                 = optional(string, "inventory")
    destination_account_id = optional(string)
  })
  default = null
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
