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
