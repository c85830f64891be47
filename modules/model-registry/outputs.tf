output "name" {
  description = "Name of the registry table."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the registry table."
  value       = aws_dynamodb_table.this.arn
}

output "path_attribute" {
  description = "Attribute that holds artifact locations."
  value       = "s3_path"
}
