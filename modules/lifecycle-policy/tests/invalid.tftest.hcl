# Inputs S3 would reject are refused at plan time.

run "seed_article_checkpoint_tier_is_refused" {
  # The seed article's tier: Standard-IA after 14 days. S3 rejects it.
  command = plan
  variables {
    tiers = { "checkpoints/" = { standard_ia_days = 14, glacier_ir_days = 60, expire_days = 180 } }
  }
  expect_failures = [var.tiers]
}

run "transitions_out_of_order" {
  command = plan
  variables {
    tiers = { "models/" = { glacier_ir_days = 200, glacier_days = 120, expire_days = 400 } }
  }
  expect_failures = [output.rules]
}

run "same_day_transitions" {
  command = plan
  variables {
    tiers = { "models/" = { glacier_ir_days = 100, glacier_days = 100 } }
  }
  expect_failures = [output.rules]
}

run "glacier_too_soon_after_standard_ia" {
  command = plan
  variables {
    tiers = { "models/" = { standard_ia_days = 30, glacier_ir_days = 45 } }
  }
  expect_failures = [output.rules]
}

run "expiration_not_after_last_transition" {
  command = plan
  variables {
    tiers = { "models/" = { standard_ia_days = 30, glacier_ir_days = 90, expire_days = 90 } }
  }
  expect_failures = [output.rules]
}

run "newer_noncurrent_versions_without_noncurrent_expiration" {
  command = plan
  variables {
    tiers = { "models/" = { expire_days = 30, newer_noncurrent_versions = 3 } }
  }
  expect_failures = [output.rules]
}

run "overlapping_prefixes" {
  command = plan
  variables {
    tiers = {
      "models/"      = { expire_days = 365 }
      "models/tmp/"  = { expire_days = 7 }
      "checkpoints/" = { expire_days = 90 }
    }
  }
  expect_failures = [var.tiers]
}

run "whole_bucket_tier_overlaps_every_other" {
  command = plan
  variables {
    tiers = { "" = { expire_days = 365 }, "models/" = { expire_days = 30 } }
  }
  expect_failures = [var.tiers]
}

run "tier_without_any_action" {
  command = plan
  variables {
    tiers = { "models/" = {} }
  }
  expect_failures = [var.tiers]
}

run "fractional_and_negative_days" {
  command = plan
  variables {
    tiers = { "models/" = { expire_days = 30.5 }, "checkpoints/" = { glacier_days = -1 } }
  }
  expect_failures = [var.tiers]
}

run "zero_expiration" {
  command = plan
  variables {
    tiers = { "models/" = { expire_days = 0 } }
  }
  expect_failures = [var.tiers]
}

run "more_rules_than_s3_allows" {
  command = plan
  variables {
    tiers = { for i in range(999) : format("p%04d/", i) => { expire_days = 30 } }
  }
  expect_failures = [var.tiers]
}

run "bad_quarantine" {
  command = plan
  variables {
    quarantine = { tag_key = "", tag_value = "condemned", days = 0 }
  }
  expect_failures = [var.quarantine]
}

run "bad_minimum_object_size" {
  command = plan
  variables {
    transition_default_minimum_object_size = "1MB"
  }
  expect_failures = [var.transition_default_minimum_object_size]
}

run "misspelt_field_is_not_silently_dropped" {
  command = plan
  variables {
    tiers = { "models/" = { expire_day = 30, standard_ia_days = 30 } }
  }
  expect_failures = [var.tiers]
}
