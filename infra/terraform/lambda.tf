resource "aws_lambda_function" "processor" {
  # checkov:skip=CKV_AWS_116: invoked synchronously by the SQS event source; failed messages go to the queue's redrive DLQ, which a function-level DLQ would not see.
  # checkov:skip=CKV_AWS_117: reaches only AWS public endpoints (SQS, DynamoDB); a VPC would add NAT or endpoints and protect nothing.
  # checkov:skip=CKV_AWS_173: the environment holds resource names and a queue URL, no secrets; Lambda encrypts it at rest with its service key.
  # checkov:skip=CKV_AWS_272: code signing applies to .zip packages only; container images are pinned by immutable ECR tags and scanned on push.
  function_name                  = local.processor_name
  description                    = "Stores and correlates chatbot analytics events from the SQS FIFO queue"
  role                           = aws_iam_role.processor.arn
  package_type                   = "Image"
  image_uri                      = "${aws_ecr_repository.function["processor"].repository_url}:${var.processor_image_tag}"
  architectures                  = [var.lambda_architecture]
  timeout                        = local.processor_timeout_seconds
  memory_size                    = local.processor_memory_mb
  reserved_concurrent_executions = var.processor_reserved_concurrency

  tracing_config {
    mode = var.tracing_mode
  }

  environment {
    variables = {
      QUERY_EVENTS_TABLE           = aws_dynamodb_table.query_events.name
      ANALYTICS_TABLE              = aws_dynamodb_table.analytics.name
      DLQ_URL                      = aws_sqs_queue.dlq.url
      POWERTOOLS_SERVICE_NAME      = local.processor_name
      POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
      LOG_LEVEL                    = var.log_level
    }
  }

  depends_on = [aws_cloudwatch_log_group.processor, aws_iam_role_policy.processor]
}

resource "aws_lambda_event_source_mapping" "processor_queue" {
  event_source_arn        = aws_sqs_queue.queue.arn
  function_name           = aws_lambda_function.processor.arn
  batch_size              = local.processor_batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.processor_max_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.processor_reserved_concurrency <= 0 || var.processor_reserved_concurrency >= var.processor_max_concurrency
      error_message = "processor_reserved_concurrency below processor_max_concurrency throttles the event source and pushes messages towards the DLQ."
    }
  }

  # The mapping checks the role's SQS permissions when it is created.
  depends_on = [aws_iam_role_policy.processor]
}

resource "aws_lambda_function" "reporter" {
  # checkov:skip=CKV_AWS_116: failed asynchronous invocations go to an on-failure destination (aws_lambda_function_event_invoke_config.reporter), which records the error as well as the event.
  # checkov:skip=CKV_AWS_117: reaches only AWS public endpoints (DynamoDB, SES); a VPC would add NAT or endpoints and protect nothing.
  # checkov:skip=CKV_AWS_173: the environment holds two table names and the two report addresses, no secrets; Lambda encrypts it at rest with its service key.
  # checkov:skip=CKV_AWS_272: code signing applies to .zip packages only; container images are pinned by immutable ECR tags and scanned on push.
  function_name                  = local.reporter_name
  description                    = "Emails the weekly analytics report"
  role                           = aws_iam_role.reporter.arn
  package_type                   = "Image"
  image_uri                      = "${aws_ecr_repository.function["reporter"].repository_url}:${var.reporter_image_tag}"
  architectures                  = [var.lambda_architecture]
  timeout                        = local.reporter_timeout_seconds
  memory_size                    = local.reporter_memory_mb
  reserved_concurrent_executions = var.reporter_reserved_concurrency

  tracing_config {
    mode = var.tracing_mode
  }

  environment {
    variables = {
      ANALYTICS_TABLE              = aws_dynamodb_table.analytics.name
      REPORTS_TABLE                = aws_dynamodb_table.reports.name
      SENDER_EMAIL                 = var.sender_email
      RECIPIENT_EMAIL              = var.recipient_email
      POWERTOOLS_SERVICE_NAME      = local.reporter_name
      POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
      LOG_LEVEL                    = var.log_level
    }
  }

  depends_on = [aws_cloudwatch_log_group.reporter, aws_iam_role_policy.reporter]
}

# One retry only. The reports table already keeps a retried or twice-delivered event
# from mailing a week twice; a send whose outcome is unknown fails every run until it
# is forced, so its failure lands on the reporter-failures queue and its alarm; check
# the mailbox and re-run by hand (docs/production.md).
resource "aws_lambda_function_event_invoke_config" "reporter" {
  function_name                = aws_lambda_function.reporter.function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.reporter_failures.arn
    }
  }
}
