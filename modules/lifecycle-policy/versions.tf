# Provider-less on purpose: the module only computes and validates, so it plans and tests offline.
terraform {
  required_version = ">= 1.5.0"
}
