module "lifecycle" {
  source = "../lifecycle-policy"

  tiers                                  = var.lifecycle_tiers
  housekeeping                           = var.housekeeping
  quarantine                             = var.quarantine
  transition_default_minimum_object_size = var.transition_default_minimum_object_size
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:Access logging needs a separate log bucket that this module does not own; enable it with aws_s3_bucket_logging where required.
  # checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost for regenerable ML artifacts; opt in outside this module.
  # checkov:skip=CKV2_AWS_62:Event notifications have no consumer in artifact-gc; the GC lists the bucket instead.
  # checkov:skip=CKV_AWS_145:SSE-KMS is optional (var.kms_key_arn); SSE-S3 is the default so that readers need no KMS grants.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

locals {
  bucket_arn = aws_s3_bucket.this.arn

  policy = {
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }],
      length(var.conditional_delete_principal_arns) > 0 ? [{
        # The GC sends each object's planned ETag; a delete without one is refused for these principals.
        Sid       = "RequireConditionalDeletesForGc"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:DeleteObject"
        Resource  = "${local.bucket_arn}/*"
        Condition = {
          ArnEquals = { "aws:PrincipalArn" = var.conditional_delete_principal_arns }
          Null      = { "s3:if-match" = "true" }
        }
      }] : [],
    )
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode(local.policy)

  # A policy put before the public-access block could be refused as public.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  # checkov:skip=CKV_AWS_300:The housekeeping rule from lifecycle-policy aborts incomplete uploads (abort_multipart_days, 7 by default); checkov cannot evaluate dynamic rule blocks.
  bucket                                 = aws_s3_bucket.this.id
  transition_default_minimum_object_size = module.lifecycle.transition_default_minimum_object_size

  dynamic "rule" {
    for_each = module.lifecycle.rules

    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.tag == null && rule.value.prefix != "" ? rule.value.prefix : null

        dynamic "tag" {
          for_each = rule.value.tag == null ? [] : [rule.value.tag]
          content {
            key   = tag.value.key
            value = tag.value.value
          }
        }
      }

      dynamic "transition" {
        for_each = rule.value.transitions
        content {
          days          = transition.value.days
          storage_class = transition.value.storage_class
        }
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days != null || rule.value.expired_object_delete_marker ? [rule.value] : []
        content {
          days                         = expiration.value.expiration_days
          expired_object_delete_marker = expiration.value.expiration_days == null ? true : null
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_expire_days == null ? [] : [rule.value]
        content {
          noncurrent_days           = noncurrent_version_expiration.value.noncurrent_expire_days
          newer_noncurrent_versions = noncurrent_version_expiration.value.newer_noncurrent_versions
        }
      }

      dynamic "abort_incomplete_multipart_upload" {
        for_each = rule.value.abort_multipart_days == null ? [] : [rule.value]
        content {
          days_after_initiation = abort_incomplete_multipart_upload.value.abort_multipart_days
        }
      }
    }
  }

  # Lifecycle rules on a versioned bucket need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_inventory" "this" {
  count = var.inventory == null ? 0 : 1

  bucket                   = aws_s3_bucket.this.id
  name                     = "artifact-gc-daily"
  included_object_versions = "All"
  optional_fields          = ["Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus"]

  schedule {
    frequency = "Daily"
  }

  destination {
    bucket {
      format     = "Parquet"
      bucket_arn = var.inventory.destination_bucket_arn
      prefix     = var.inventory.prefix
      account_id = var.inventory.destination_account_id
    }
  }
}
