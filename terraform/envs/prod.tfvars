environment         = "prod"
region              = "eu-west-1"
bucket_name         = "acme-ml-artifacts-prod"
registry_table_name = "acme-model-registry-prod"

tiers = {
  "checkpoints/" = {
    standard_ia_days       = 30
    glacier_ir_days        = 90
    expire_days            = 365
    noncurrent_expire_days = 14
  }
  "experiments/failed/" = {
    expire_days = 30
  }
  # Production models never expire by age: only the registry-aware GC removes unreferenced versions.
  "models/" = {
    standard_ia_days          = 60
    glacier_ir_days           = 180
    noncurrent_expire_days    = 90
    newer_noncurrent_versions = 5
  }
}

housekeeping = {
  abort_multipart_days   = 7
  noncurrent_expire_days = 90
}

quarantine = {
  tag_key   = "artifact-gc"
  tag_value = "condemned"
  days      = 30
}

gc_prefixes  = ["checkpoints/", "experiments/", "models/"]
min_age_days = 14

github_oidc = {
  provider_arn = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"
  subjects     = ["repo:acme/ml-infra:environment:prod"]
}

inventory = {
  destination_bucket_arn = "arn:aws:s3:::acme-s3-inventory"
  prefix                 = "artifact-gc/prod"
}
