variable "table_name" {
  description = "Name of the model-registry DynamoDB table."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3-255 letters, digits, underscores, dots or hyphens."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for encryption at rest; null uses the AWS-managed key (aws/dynamodb)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse DeleteTable while on. Turn off only to destroy the registry on purpose."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}
