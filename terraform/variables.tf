variable "environment" {
  description = "Environment name (dev, prod, ...), used in tags and default names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or hyphens."
  }
}

variable "region" {
  description = "AWS region of the bucket and the registry."
  type        = string
}

variable "bucket_name" {
  description = "Name of the artifact bucket."
  type        = string
}

variable "registry_table_name" {
  description = "Name of the model-registry DynamoDB table."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the bucket and the registry; null uses SSE-S3 and the AWS-managed DynamoDB key."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy a non-empty bucket (dev only)."
  type        = bool
  default     = false
}

variable "tiers" {
  description = "Lifecycle tiers by key prefix: standard_ia_days, glacier_ir_days, glacier_days, deep_archive_days, expire_days, noncurrent_expire_days, newer_noncurrent_versions, abort_multipart_days (see modules/lifecycle-policy)."
  type        = map(map(number))
}

variable "housekeeping" {
  description = "Whole-bucket cleanup rule: expired delete markers, incomplete uploads, noncurrent versions (see modules/lifecycle-policy)."
  type = object({
    enabled                      = optional(bool)
    expired_object_delete_marker = optional(bool)
    abort_multipart_days         = optional(number)
    noncurrent_expire_days       = optional(number)
  })
  default = {}
}

variable "quarantine" {
  description = "Tag the GC puts on quarantined objects and how many days after creation they expire."
  type = object({
    tag_key   = string
    tag_value = string
    days      = number
  })
  default = {
    tag_key   = "artifact-gc"
    tag_value = "condemned"
    days      = 14
  }
}

variable "gc_prefixes" {
  description = "Key prefixes the GC may touch."
  type        = list(string)
}

variable "min_age_days" {
  description = "The GC never collects objects younger than this many days."
  type        = number
  default     = 7

  validation {
    condition     = var.min_age_days >= 1 && floor(var.min_age_days) == var.min_age_days
    error_message = "min_age_days must be a whole number of at least 1: a fresh artifact needs time to be registered."
  }
}

variable "gc_trusted_principal_arns" {
  description = "IAM principals allowed to assume the GC roles."
  type        = list(string)
  default     = []
}

variable "github_oidc" {
  description = "GitHub Actions OIDC trust for the GC roles: provider ARN and allowed subjects."
  type = object({
    provider_arn = string
    subjects     = list(string)
  })
  default = null
}

variable "require_conditional_deletes" {
  description = "Bucket policy refuses the runner role's deletes that carry no If-Match (ETag)."
  type        = bool
  default     = true
}

variable "inventory" {
  description = "Daily S3 Inventory (Parquet) destination; null: off. When on, `artifact-gc plan --tf-dir` reads the newest delivery instead of listing, and refuses one older than max_age (a duration: 48h, 2d)."
  type = object({
    destination_bucket_arn = string
    prefix                 = optional(string, "inventory")
    destination_account_id = optional(string)
    max_age                = optional(string, "48h")
  })
  default = null

  validation {
    condition     = var.inventory == null ? true : can(regex("^[0-9]+(\\.[0-9]+)?[smhd]$", var.inventory.max_age))
    error_message = "inventory.max_age is a duration such as 48h or 2d."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "sagemaker_registry" {
  description = "Also protect what the SageMaker Model Registry and SageMaker models reference: the GC roles may read them, and gc_config.sagemaker turns the source on."
  type        = bool
  default     = false
}

variable "spark_planner" {
  description = "Run `artifact-gc plan --engine spark` as a cluster job (EMR Serverless, Glue): the planner role may write plan folders under output_prefix of output_bucket_arn (not the artifact bucket) and be assumed by trusted_services of this account. Null: off."
  type = object({
    output_bucket_arn = string
    output_prefix     = string
    trusted_services  = optional(list(string), [])
  })
  default = null
}
