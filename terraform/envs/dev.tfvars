environment         = "dev"
region              = "eu-west-1"
bucket_name         = "acme-ml-artifacts-dev"
registry_table_name = "acme-model-registry-dev"
force_destroy       = true

# Tiers by prefix, in days since creation. Dev keeps less for less long.
tiers = {
  "checkpoints/" = {
    standard_ia_days       = 30
    glacier_ir_days        = 60
    expire_days            = 180
    noncurrent_expire_days = 7
  }
  "experiments/failed/" = {
    expire_days = 14
  }
  "models/" = {
    standard_ia_days          = 30
    glacier_ir_days           = 90
    noncurrent_expire_days    = 30
    newer_noncurrent_versions = 3
  }
}

housekeeping = {
  abort_multipart_days   = 3
  noncurrent_expire_days = 30
}

quarantine = {
  tag_key   = "artifact-gc"
  tag_value = "condemned"
  days      = 7
}

gc_prefixes  = ["checkpoints/", "experiments/", "models/"]
min_age_days = 7

gc_trusted_principal_arns = ["arn:aws:iam::111111111111:role/ml-platform-dev"]
