output "name" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "region" {
  description = "Region the bucket lives in."
  value       = aws_s3_bucket.this.region
}

output "lifecycle_configuration" {
  description = "The bucket's lifecycle configuration in the S3 API (boto3) shape."
  value       = module.lifecycle.lifecycle_configuration
}

output "lifecycle_warnings" {
  description = "Lifecycle settings S3 accepts but bills badly or ignores."
  value       = module.lifecycle.warnings
}

output "inventory_location" {
  description = "Where the daily inventory's deliveries land (s3://DEST/PREFIX/SOURCE-BUCKET/CONFIG-ID/), for `artifact-gc plan --inventory`; null when the inventory is off."
  value       = var.inventory == null ? null : "s3://${element(split(":", var.inventory.destination_bucket_arn), 5)}/${var.inventory.prefix}/${aws_s3_bucket.this.id}/${aws_s3_bucket_inventory.this[0].name}/"
}
