# Valid inputs: the documents the module emits, rule by rule.

run "tiers_become_rules_in_prefix_order" {
  command = plan

  variables {
    tiers = {
      "models/"             = { standard_ia_days = 30, glacier_ir_days = 90, expire_days = 365 }
      "checkpoints/"        = { standard_ia_days = 30, glacier_ir_days = 60, expire_days = 180, noncurrent_expire_days = 7, newer_noncurrent_versions = 2, abort_multipart_days = 3 }
      "experiments/failed/" = { expire_days = 14 }
    }
  }

  assert {
    condition     = [for r in output.lifecycle_configuration.Rules : r.ID] == ["tier-checkpoints/", "tier-experiments/failed/", "tier-models/", "housekeeping"]
    error_message = "rules are the sorted tiers, then housekeeping"
  }
  assert {
    condition = output.lifecycle_configuration.Rules[0] == {
      ID                             = "tier-checkpoints/"
      Status                         = "Enabled"
      Filter                         = { Prefix = "checkpoints/" }
      Transitions                    = [{ Days = 30, StorageClass = "STANDARD_IA" }, { Days = 60, StorageClass = "GLACIER_IR" }]
      Expiration                     = { Days = 180 }
      NoncurrentVersionExpiration    = { NoncurrentDays = 7, NewerNoncurrentVersions = 2 }
      AbortIncompleteMultipartUpload = { DaysAfterInitiation = 3 }
    }
    error_message = "the checkpoint tier renders every action in the S3 shape"
  }
  assert {
    condition     = output.lifecycle_configuration.Rules[1] == { ID = "tier-experiments/failed/", Status = "Enabled", Filter = { Prefix = "experiments/failed/" }, Expiration = { Days = 14 } }
    error_message = "a tier with only expire_days renders only an Expiration"
  }
  assert {
    condition = output.lifecycle_configuration.Rules[3] == {
      ID                             = "housekeeping"
      Status                         = "Enabled"
      Filter                         = {}
      Expiration                     = { ExpiredObjectDeleteMarker = true }
      NoncurrentVersionExpiration    = { NoncurrentDays = 30 }
      AbortIncompleteMultipartUpload = { DaysAfterInitiation = 7 }
    }
    error_message = "housekeeping covers the whole bucket with an empty filter"
  }
  assert {
    condition     = output.warnings == []
    error_message = "these tiers respect every minimum storage duration"
  }
  assert {
    condition     = length(output.rules) == 4 && output.rules[0].transitions[1] == { storage_class = "GLACIER_IR", days = 60 }
    error_message = "rules carries the same rules in the neutral shape"
  }
}

run "quarantine_rule_is_tag_filtered_and_expiration_only" {
  command = plan

  variables {
    tiers        = { "checkpoints/" = { expire_days = 90 } }
    housekeeping = { enabled = false }
    quarantine   = { tag_key = "artifact-gc", tag_value = "condemned", days = 7 }
  }

  assert {
    condition = output.lifecycle_configuration.Rules == [
      { ID = "tier-checkpoints/", Status = "Enabled", Filter = { Prefix = "checkpoints/" }, Expiration = { Days = 90 } },
      { ID = "quarantine", Status = "Enabled", Filter = { Tag = { Key = "artifact-gc", Value = "condemned" } }, Expiration = { Days = 7 } },
    ]
    error_message = "quarantine expires tagged objects and holds no action S3 forbids in tag-filtered rules"
  }
}

run "glacier_transitions_may_start_on_day_zero" {
  command = plan

  variables {
    tiers = { "archive/" = { glacier_ir_days = 0, deep_archive_days = 90 } }
  }

  assert {
    condition     = output.lifecycle_configuration.Rules[0].Transitions == [{ Days = 0, StorageClass = "GLACIER_IR" }, { Days = 90, StorageClass = "DEEP_ARCHIVE" }]
    error_message = "GLACIER_IR accepts day 0"
  }
}

run "early_deletion_is_a_warning_not_an_error" {
  command = plan

  variables {
    tiers = {
      "tmp/"   = { glacier_ir_days = 10, expire_days = 40 }
      "cold/"  = { standard_ia_days = 30, expire_days = 45 }
      "extra/" = { noncurrent_expire_days = 90, abort_multipart_days = 30 }
    }
  }

  assert {
    condition     = length(output.warnings) == 4
    error_message = "two early deletions and two settings overridden by housekeeping"
  }
  assert {
    condition     = anytrue([for w in output.warnings : strcontains(w, "\"tmp/\"") && strcontains(w, "GLACIER_IR after 30 days") && strcontains(w, "90-day minimum")])
    error_message = "names the tier, the class and the minimum"
  }
  assert {
    condition     = anytrue([for w in output.warnings : strcontains(w, "\"cold/\"") && strcontains(w, "STANDARD_IA after 15 days")])
    error_message = "expiring 15 days after Standard-IA is billed as 30"
  }
  assert {
    condition     = anytrue([for w in output.warnings : strcontains(w, "\"extra/\"") && strcontains(w, "noncurrent_expire_days 90 has no effect")])
    error_message = "a tier cannot extend what the whole-bucket rule shortens"
  }
}

run "no_tiers_leaves_only_housekeeping" {
  command = plan

  assert {
    condition     = [for r in output.lifecycle_configuration.Rules : r.ID] == ["housekeeping"]
    error_message = "housekeeping is on by default"
  }
}
