output "queue_url" {
  description = "URL of the FIFO queue the ingest API sends events to."
  value       = aws_sqs_queue.queue.url
}

output "queue_arn" {
  description = "ARN of the FIFO queue (grant the ingest API sqs:SendMessage on it)."
  value       = aws_sqs_queue.queue.arn
}

output "dlq_url" {
  description = "URL of the processor's FIFO dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "reporter_failures_queue_url" {
  description = "URL of the queue that collects failed weekly report invocations."
  value       = aws_sqs_queue.reporter_failures.url
}

output "query_events_table_name" {
  description = "DynamoDB table of raw events."
  value       = aws_dynamodb_table.query_events.name
}

output "analytics_table_name" {
  description = "DynamoDB table of correlated analytics records."
  value       = aws_dynamodb_table.analytics.name
}

output "reports_table_name" {
  description = "DynamoDB table of weekly report send records (one per week)."
  value       = aws_dynamodb_table.reports.name
}

output "processor_function_name" {
  description = "Name of the processor Lambda function."
  value       = aws_lambda_function.processor.function_name
}

output "reporter_function_name" {
  description = "Name of the reporter Lambda function."
  value       = aws_lambda_function.reporter.function_name
}

output "processor_repository_url" {
  description = "ECR repository of the processor image."
  value       = aws_ecr_repository.function["processor"].repository_url
}

output "reporter_repository_url" {
  description = "ECR repository of the reporter image."
  value       = aws_ecr_repository.function["reporter"].repository_url
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}

output "data_key_arn" {
  description = "KMS key encrypting the tables, log groups and alarm topic."
  value       = aws_kms_key.data.arn
}
