provider "aws" {
  region = var.region

  default_tags {
    tags = merge({
      Project     = "artifact-gc"
      Environment = var.environment
      ManagedBy   = "terraform"
    }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
