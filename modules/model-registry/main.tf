# Key schema: model_id (string, partition key) + version (number, sort key). Each item names the
# artifacts it keeps alive in attribute `s3_path`: a string, a list of strings or a string set, each an
# s3://, s3a://, https:// URL or bare key (see the artifact-gc README for what a reference protects).
resource "aws_dynamodb_table" "this" {
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "model_id"
  range_key                   = "version"
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "model_id"
    type = "S"
  }

  attribute {
    name = "version"
    type = "N"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
