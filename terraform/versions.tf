terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0" # 5.73 added transition_default_minimum_object_size
    }
  }
}
