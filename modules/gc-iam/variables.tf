variable "name_prefix" {
  description = "Prefix of the role names: NAME_PREFIX-runner and NAME_PREFIX-planner."
  type        = string
  default     = "artifact-gc"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,56}$", var.name_prefix))
    error_message = "name_prefix must be 1-56 characters valid in IAM role names."
  }
}

variable "bucket_name" {
  description = "Name of the artifact bucket (its ARN is computed, so the roles do not depend on the bucket resource)."
  type        = string
}

variable "partition" {
  description = "AWS partition of the ARNs."
  type        = string
  default     = "aws"
}

variable "gc_prefixes" {
  description = "Key prefixes the GC may list, tag and delete under."
  type        = list(string)
}

variable "registry_table_arn" {
  description = "ARN of the model-registry table."
  type        = string
}

variable "kms_key_arns" {
  description = "KMS keys of the bucket and table when they use SSE-KMS."
  type        = list(string)
  default     = []
}

variable "trusted_principal_arns" {
  description = "IAM principals allowed to assume the roles."
  type        = list(string)
  default     = []
}

variable "github_oidc" {
  description = "GitHub Actions OIDC trust: provider ARN and allowed subjects (see the policies submodule)."
  type = object({
    provider_arn = string
    subjects     = list(string)
  })
  default = null
}

variable "max_session_duration" {
  description = "Longest session, in seconds, that assuming a role grants (3600 to 43200)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary for both roles."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the roles."
  type        = map(string)
  default     = {}
}

variable "sagemaker_read" {
  description = "Grant read-only access to the SageMaker Model Registry and models (artifact-gc --sagemaker)."
  type        = bool
  default     = false
}

variable "inventory_read" {
  description = "Let both roles read the bucket's S3 Inventory deliveries (artifact-gc plan --inventory): ListBucket under, and GetObject of, PREFIX in the destination bucket. Null: no access."
  type = object({
    bucket_arn = string
    prefix     = string
  })
  default = null

  validation {
    condition     = var.inventory_read == null ? true : can(regex("^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]+[a-z0-9]$", var.inventory_read.bucket_arn)) && !strcontains(var.inventory_read.prefix, "*")
    error_message = "inventory_read.bucket_arn is an S3 bucket ARN and inventory_read.prefix holds no wildcard."
  }
}

variable "spark_planner" {
  description = "Let the planner role run `artifact-gc plan --engine spark` as a cluster job: write plan folders under output_prefix in output_bucket_arn (List, Get, Put and Delete there: Spark's committer writes and removes _temporary/), and be assumed by the job services in trusted_services (e.g. emr-serverless.amazonaws.com, glue.amazonaws.com). The runner role gets none of it. Null: off."
  type = object({
    output_bucket_arn = string
    output_prefix     = string
    trusted_services  = optional(list(string), [])
  })
  default = null

  validation {
    condition = var.spark_planner == null ? true : (
      can(regex("^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]+[a-z0-9]$", var.spark_planner.output_bucket_arn)) &&
      length(var.spark_planner.output_prefix) > 1 && endswith(var.spark_planner.output_prefix, "/") &&
      !strcontains(var.spark_planner.output_prefix, "*") && !strcontains(var.spark_planner.output_prefix, "?")
    )
    error_message = "spark_planner.output_bucket_arn is an S3 bucket ARN; spark_planner.output_prefix is a folder (ends with '/', not '/' alone) without wildcards."
  }
  validation {
    condition     = var.spark_planner == null ? true : alltrue([for s in var.spark_planner.trusted_services : can(regex("^[a-z0-9-]+\\.amazonaws\\.com$", s))])
    error_message = "spark_planner.trusted_services are AWS service principals such as emr-serverless.amazonaws.com or glue.amazonaws.com."
  }
}
