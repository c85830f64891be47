# A provider-less root that evaluates modules/lifecycle-policy with an environment's tfvars, offline:
# `terraform plan -var-file=../envs/dev.tfvars` shows the exact lifecycle document the bucket gets.
# make demo applies it to the local stack, so the demo's rules are never a hand-written copy.
terraform {
  required_version = ">= 1.5.0"
}
