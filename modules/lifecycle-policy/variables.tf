variable "tiers" {
  description = <<-EOT
    Storage tiers keyed by S3 key prefix (e.g. "checkpoints/"). Each value sets, in days since creation,
    when objects move to STANDARD_IA, GLACIER_IR, GLACIER (Flexible Retrieval) and DEEP_ARCHIVE and when
    they expire; and, for versioned buckets, when noncurrent versions expire (keeping the newest
    `newer_noncurrent_versions`) and when incomplete multipart uploads are aborted. Leave a field out to
    skip that step. Prefixes must not overlap.
  EOT
  # A map rather than an object type, so that a misspelt field is an error instead of silently dropped.
  type    = map(map(number))
  default = {}

  validation {
    condition = alltrue([for p, t in var.tiers : length(setsubtract(keys(t), [
      "standard_ia_days", "glacier_ir_days", "glacier_days", "deep_archive_days", "expire_days",
      "noncurrent_expire_days", "newer_noncurrent_versions", "abort_multipart_days",
    ])) == 0])
    error_message = "Unknown tier fields (allowed: standard_ia_days, glacier_ir_days, glacier_days, deep_archive_days, expire_days, noncurrent_expire_days, newer_noncurrent_versions, abort_multipart_days): ${join(", ", flatten([for p, t in var.tiers : [for k in setsubtract(keys(t), ["standard_ia_days", "glacier_ir_days", "glacier_days", "deep_archive_days", "expire_days", "noncurrent_expire_days", "newer_noncurrent_versions", "abort_multipart_days"]) : "\"${p}\".${k}"]]))}."
  }

  validation {
    condition     = length(var.tiers) <= 998
    error_message = "S3 allows at most 1,000 lifecycle rules per bucket and this module adds up to two of its own (housekeeping, quarantine): ${length(var.tiers)} tiers is more than 998."
  }

  validation {
    condition     = alltrue([for p, t in var.tiers : length(p) <= 250])
    error_message = "Tier prefixes become rule IDs, which S3 limits to 255 characters: shorten ${join(", ", [for p, t in var.tiers : "\"${p}\"" if length(p) > 250])}."
  }

  validation {
    condition = alltrue(flatten([for p, t in var.tiers : [
      for v in values(t) : v == null ? true : (floor(v) == v && v >= 0)
    ]]))
    error_message = "Lifecycle days and version counts are whole numbers of 0 or more (S3 rejects others). Check tiers: ${join(", ", [for p, t in var.tiers : "\"${p}\"" if !alltrue([for v in values(t) : v == null ? true : (floor(v) == v && v >= 0)])])}."
  }

  validation {
    condition     = alltrue([for p, t in var.tiers : coalesce(lookup(t, "standard_ia_days", null), 30) >= 30])
    error_message = "S3 rejects a transition to STANDARD_IA before 30 days (its minimum storage duration is 30 days). Tiers: ${join(", ", [for p, t in var.tiers : "\"${p}\" has standard_ia_days = ${lookup(t, "standard_ia_days", null)}" if coalesce(lookup(t, "standard_ia_days", null), 30) < 30])}."
  }

  validation {
    condition     = alltrue([for p, t in var.tiers : coalesce(lookup(t, "expire_days", null), 1) >= 1 && coalesce(lookup(t, "noncurrent_expire_days", null), 1) >= 1 && coalesce(lookup(t, "abort_multipart_days", null), 1) >= 1])
    error_message = "S3 requires expire_days, noncurrent_expire_days and abort_multipart_days to be at least 1 (Expiration, NoncurrentVersionExpiration, AbortIncompleteMultipartUpload). Tiers: ${join(", ", [for p, t in var.tiers : "\"${p}\"" if !(coalesce(lookup(t, "expire_days", null), 1) >= 1 && coalesce(lookup(t, "noncurrent_expire_days", null), 1) >= 1 && coalesce(lookup(t, "abort_multipart_days", null), 1) >= 1)])}."
  }

  validation {
    condition     = alltrue([for p, t in var.tiers : length([for v in values(t) : v if v != null]) > 0])
    error_message = "S3 rejects a lifecycle rule without an action: give each tier at least one of its days. Empty tiers: ${join(", ", [for p, t in var.tiers : "\"${p}\"" if length([for v in values(t) : v if v != null]) == 0])}."
  }

  validation {
    # Overlapping prefixes make S3 apply several rules to one object (the cheapest action wins): ambiguous.
    condition     = length(flatten([for a in keys(var.tiers) : [for b in keys(var.tiers) : b if a != b && startswith(b, a)]])) == 0
    error_message = "Tier prefixes must not overlap (S3 would apply both rules to the same objects): ${join(", ", flatten([for a in keys(var.tiers) : [for b in keys(var.tiers) : "\"${b}\" lies inside \"${a}\"" if a != b && startswith(b, a)]]))}."
  }
}

variable "housekeeping" {
  description = <<-EOT
    A whole-bucket rule for what versioning and uploads leave behind: remove expired object delete
    markers, abort incomplete multipart uploads after `abort_multipart_days`, and expire noncurrent
    versions after `noncurrent_expire_days` (null: keep them). Set `enabled = false` to leave it out.
  EOT
  type = object({
    enabled                      = optional(bool, true)
    expired_object_delete_marker = optional(bool, true)
    abort_multipart_days         = optional(number, 7)
    noncurrent_expire_days       = optional(number, 30)
  })
  default = {}

  validation {
    condition     = coalesce(var.housekeeping.abort_multipart_days, 1) >= 1 && coalesce(var.housekeeping.noncurrent_expire_days, 1) >= 1
    error_message = "housekeeping: abort_multipart_days and noncurrent_expire_days must be at least 1 day (or null to leave the action out)."
  }
}

variable "quarantine" {
  description = <<-EOT
    Two-phase deletion: objects the GC tags `tag_key = tag_value` expire `days` after creation (at the
    earliest, the next lifecycle run). Null leaves the rule out.
  EOT
  type = object({
    tag_key   = string
    tag_value = string
    days      = number
  })
  default = null

  validation {
    condition     = var.quarantine == null ? true : (length(var.quarantine.tag_key) > 0 && length(var.quarantine.tag_key) <= 128 && length(var.quarantine.tag_value) <= 256 && var.quarantine.days >= 1 && floor(var.quarantine.days) == var.quarantine.days)
    error_message = "quarantine: tag_key must be 1 to 128 characters, tag_value at most 256, and days a whole number of at least 1."
  }
}

variable "transition_default_minimum_object_size" {
  description = "Smallest object S3 transitions: \"all_storage_classes_128K\" (S3's default since September 2024) or \"varies_by_storage_class\"."
  type        = string
  default     = "all_storage_classes_128K"

  validation {
    condition     = contains(["all_storage_classes_128K", "varies_by_storage_class"], var.transition_default_minimum_object_size)
    error_message = "transition_default_minimum_object_size must be \"all_storage_classes_128K\" or \"varies_by_storage_class\"."
  }
}
