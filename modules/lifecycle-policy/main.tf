# Tier definitions -> validated S3 lifecycle rules, in two shapes: `rules` for the bucket module's dynamic
# blocks, and `lifecycle_configuration`, the exact document PutBucketLifecycleConfiguration accepts.

locals {
  # Transition order is fixed; a tier may skip any step.
  classes      = ["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]
  class_fields = { STANDARD_IA = "standard_ia_days", GLACIER_IR = "glacier_ir_days", GLACIER = "glacier_days", DEEP_ARCHIVE = "deep_archive_days" }
  # Minimum storage durations: leaving a class earlier is billed as if the object had stayed.
  minimum_days = { STANDARD_IA = 30, GLACIER_IR = 90, GLACIER = 90, DEEP_ARCHIVE = 180 }

  fields = [
    "standard_ia_days", "glacier_ir_days", "glacier_days", "deep_archive_days", "expire_days",
    "noncurrent_expire_days", "newer_noncurrent_versions", "abort_multipart_days",
  ]

  # Every tier with every field (null where not given), plus its transitions in class order.
  tiers = {
    for prefix, given in var.tiers : prefix => merge({ for f in local.fields : f => lookup(given, f, null) }, {
      transitions = [
        for c in local.classes : { storage_class = c, days = lookup(given, local.class_fields[c], null) }
        if lookup(given, local.class_fields[c], null) != null
      ]
    })
  }

  # Relational checks S3 applies within one rule; each problem names its tier and the S3 rule.
  tier_errors = flatten([
    for prefix, t in local.tiers : concat(
      [
        for i in range(max(0, length(t.transitions) - 1)) :
        "tier \"${prefix}\": the transition to ${t.transitions[i + 1].storage_class} (day ${t.transitions[i + 1].days}) must come after the one to ${t.transitions[i].storage_class} (day ${t.transitions[i].days}); S3 requires transitions in ascending order of days"
        if t.transitions[i + 1].days <= t.transitions[i].days
      ],
      [
        for tr in t.transitions :
        "tier \"${prefix}\": the transition to ${tr.storage_class} (day ${tr.days}) must come at least 30 days after the one to STANDARD_IA (day ${t.standard_ia_days}); S3 rejects shorter gaps"
        if t.standard_ia_days != null && tr.storage_class != "STANDARD_IA" && tr.days < coalesce(t.standard_ia_days, 0) + 30
      ],
      [
        for tr in t.transitions :
        "tier \"${prefix}\": expire_days (${coalesce(t.expire_days, 0)}) must be greater than the transition to ${tr.storage_class} (day ${tr.days}); S3 rejects an expiration that does not come after every transition"
        if t.expire_days != null && coalesce(t.expire_days, 0) <= tr.days
      ],
      t.newer_noncurrent_versions != null && t.noncurrent_expire_days == null ? [
        "tier \"${prefix}\": newer_noncurrent_versions needs noncurrent_expire_days in the same tier (S3 NoncurrentVersionExpiration)"
      ] : [],
      coalesce(t.newer_noncurrent_versions, 1) > 100 ? [
        "tier \"${prefix}\": newer_noncurrent_versions may be at most 100 (S3 NoncurrentVersionExpiration)"
      ] : [],
    )
  ])

  # Costs S3 accepts but bills badly: an object leaves a class before its minimum storage duration.
  tier_warnings = flatten([
    for prefix, t in local.tiers : [
      for i, tr in t.transitions : (
        "tier \"${prefix}\": objects leave ${tr.storage_class} after ${(i + 1 < length(t.transitions) ? t.transitions[i + 1].days : coalesce(t.expire_days, 0)) - tr.days} days, before its ${local.minimum_days[tr.storage_class]}-day minimum storage duration: each is billed for ${local.minimum_days[tr.storage_class]} days"
      ) if(i + 1 < length(t.transitions) || t.expire_days != null) && (i + 1 < length(t.transitions) ? t.transitions[i + 1].days : coalesce(t.expire_days, 0)) - tr.days < local.minimum_days[tr.storage_class]
    ]
  ])

  housekeeping_warnings = var.housekeeping.enabled ? flatten([
    for prefix, t in local.tiers : concat(
      t.noncurrent_expire_days != null && var.housekeeping.noncurrent_expire_days != null && coalesce(t.noncurrent_expire_days, 0) > coalesce(var.housekeeping.noncurrent_expire_days, 0) ? [
        "tier \"${prefix}\": noncurrent_expire_days ${coalesce(t.noncurrent_expire_days, 0)} has no effect: the whole-bucket housekeeping rule expires noncurrent versions after ${coalesce(var.housekeeping.noncurrent_expire_days, 0)} days, and S3 applies the shorter"
      ] : [],
      t.abort_multipart_days != null && var.housekeeping.abort_multipart_days != null && coalesce(t.abort_multipart_days, 0) > coalesce(var.housekeeping.abort_multipart_days, 0) ? [
        "tier \"${prefix}\": abort_multipart_days ${coalesce(t.abort_multipart_days, 0)} has no effect: the housekeeping rule aborts incomplete uploads after ${coalesce(var.housekeeping.abort_multipart_days, 0)} days"
      ] : [],
    )
  ]) : []

  # One neutral shape for every rule; absent actions are null.
  tier_rules = [
    for prefix in sort(keys(local.tiers)) : {
      id                           = prefix == "" ? "tier-whole-bucket" : "tier-${prefix}"
      prefix                       = prefix
      tag                          = null
      transitions                  = local.tiers[prefix].transitions
      expiration_days              = local.tiers[prefix].expire_days
      expired_object_delete_marker = false
      noncurrent_expire_days       = local.tiers[prefix].noncurrent_expire_days
      newer_noncurrent_versions    = local.tiers[prefix].newer_noncurrent_versions
      abort_multipart_days         = local.tiers[prefix].abort_multipart_days
    }
  ]

  housekeeping_rules = var.housekeeping.enabled ? [{
    id                           = "housekeeping"
    prefix                       = ""
    tag                          = null
    transitions                  = []
    expiration_days              = null
    expired_object_delete_marker = var.housekeeping.expired_object_delete_marker
    noncurrent_expire_days       = var.housekeeping.noncurrent_expire_days
    newer_noncurrent_versions    = null
    abort_multipart_days         = var.housekeeping.abort_multipart_days
  }] : []

  # S3: a tag-filtered rule cannot hold ExpiredObjectDeleteMarker or AbortIncompleteMultipartUpload.
  quarantine_rules = var.quarantine == null ? [] : [{
    id                           = "quarantine"
    prefix                       = ""
    tag                          = { key = var.quarantine.tag_key, value = var.quarantine.tag_value }
    transitions                  = []
    expiration_days              = var.quarantine.days
    expired_object_delete_marker = false
    noncurrent_expire_days       = null
    newer_noncurrent_versions    = null
    abort_multipart_days         = null
  }]

  rules = concat(local.tier_rules, local.housekeeping_rules, local.quarantine_rules)

  lifecycle_configuration = {
    Rules = [
      for r in local.rules : merge(
        { ID = r.id, Status = "Enabled" },
        {
          Filter = merge(
            r.tag != null ? { Tag = { Key = r.tag.key, Value = r.tag.value } } : null,
            r.tag == null && r.prefix != "" ? { Prefix = r.prefix } : null,
          )
        },
        length(r.transitions) > 0 ? { Transitions = [for tr in r.transitions : { Days = tr.days, StorageClass = tr.storage_class }] } : null,
        r.expiration_days != null ? { Expiration = { Days = r.expiration_days } } : null,
        r.expiration_days == null && r.expired_object_delete_marker ? { Expiration = { ExpiredObjectDeleteMarker = true } } : null,
        r.noncurrent_expire_days != null ? {
          NoncurrentVersionExpiration = merge(
            { NoncurrentDays = r.noncurrent_expire_days },
            r.newer_noncurrent_versions != null ? { NewerNoncurrentVersions = r.newer_noncurrent_versions } : null,
          )
        } : null,
        r.abort_multipart_days != null ? { AbortIncompleteMultipartUpload = { DaysAfterInitiation = r.abort_multipart_days } } : null,
      )
    ]
  }
}
