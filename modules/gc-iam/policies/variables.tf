variable "bucket_name" {
  description = "Name of the artifact bucket the GC works on."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "partition" {
  description = "AWS partition of the ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"
}

variable "gc_prefixes" {
  description = "Key prefixes the GC may list, tag and delete under (e.g. [\"checkpoints/\", \"experiments/\"])."
  type        = list(string)

  validation {
    condition     = length(var.gc_prefixes) > 0 && alltrue([for p in var.gc_prefixes : length(p) > 0 && !strcontains(p, "*") && !strcontains(p, "?")])
    error_message = "gc_prefixes needs at least one non-empty prefix without IAM wildcards (* or ?): least privilege means the GC never gets the whole bucket."
  }
}

variable "control_prefix" {
  description = "Prefix of artifact-gc's own state in the bucket (apply lease, registry history)."
  type        = string
  default     = ".artifact-gc/"

  validation {
    condition     = length(var.control_prefix) > 0 && endswith(var.control_prefix, "/") && !strcontains(var.control_prefix, "*")
    error_message = "control_prefix must be a folder prefix such as \".artifact-gc/\", without wildcards."
  }
}

variable "registry_table_arn" {
  description = "ARN of the model-registry DynamoDB table the GC reads."
  type        = string

  validation {
    condition     = can(regex("^arn:[a-z-]+:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", var.registry_table_arn))
    error_message = "registry_table_arn must be a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)."
  }
}

variable "kms_key_arns" {
  description = "KMS keys of the bucket and table, if they use SSE-KMS: the roles get kms:Decrypt on them."
  type        = list(string)
  default     = []
}

variable "trusted_principal_arns" {
  description = "IAM principals (roles, users, accounts) allowed to assume the GC roles."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.trusted_principal_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:(root|role/.+|user/.+)$", p)) && !strcontains(p, "*")])
    error_message = "trusted_principal_arns must be IAM ARNs without wildcards (arn:aws:iam::123456789012:role/NAME)."
  }
}

variable "github_oidc" {
  description = <<-EOT
    Let GitHub Actions assume the roles through OIDC: the provider's ARN and the allowed token subjects,
    e.g. ["repo:acme/ml-infra:ref:refs/heads/main", "repo:acme/ml-infra:environment:prod"]. Null: off.
  EOT
  type = object({
    provider_arn = string
    subjects     = list(string)
  })
  default = null

  validation {
    condition = var.github_oidc == null ? true : (
      length(var.github_oidc.subjects) > 0 &&
      alltrue([for s in var.github_oidc.subjects : can(regex("^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+:[^*]+$", s))])
    )
    error_message = "github_oidc.subjects must name one repository each, without wildcards (repo:OWNER/NAME:ref:refs/heads/BRANCH or repo:OWNER/NAME:environment:ENV)."
  }
}

variable "require_one_trust" {
  description = "Refuse a configuration in which nobody can assume the roles."
  type        = bool
  default     = true
}

variable "sagemaker_read" {
  description = "Let both roles read the SageMaker Model Registry and models (artifact-gc --sagemaker): List and Describe only."
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
