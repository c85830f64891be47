# Remote state with locking. Uncomment, fill in, and run `terraform init -migrate-state`.
# Terraform >= 1.10 locks with a lock file in the state bucket itself (use_lockfile); older versions
# need a DynamoDB lock table instead (dynamodb_table = "terraform-locks").
#
# terraform {
#   backend "s3" {
#     bucket       = "acme-terraform-state"
#     key          = "artifact-gc/prod/terraform.tfstate"
#     region       = "eu-west-1"
#     encrypt      = true
#     use_lockfile = true
#   }
# }
