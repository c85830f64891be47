# Provider-less: builds the policy documents with jsonencode so tests can evaluate them offline.
terraform {
  required_version = ">= 1.5.0"
}
