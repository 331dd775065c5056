# Queues use SQS managed SSE (see kms.tf for why not the CMK).

resource "aws_sqs_queue" "dlq" {
  name                        = local.dlq_name
  fifo_queue                  = true
  content_based_deduplication = true
  message_retention_seconds   = local.message_retention_seconds
  sqs_managed_sse_enabled     = true
}

resource "aws_sqs_queue" "queue" {
  name                        = local.queue_name
  fifo_queue                  = true
  content_based_deduplication = true
  message_retention_seconds   = local.message_retention_seconds
  receive_wait_time_seconds   = local.receive_wait_time_seconds
  visibility_timeout_seconds  = local.processor_timeout_seconds * local.visibility_timeout_factor
  sqs_managed_sse_enabled     = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = local.max_receive_count
  })
}

# A separate resource, because the DLQ naming its source queue inline would make
# the two queues depend on each other.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.queue.arn]
  })
}

# Failed weekly reports: Lambda's on-failure destination for the asynchronous
# invocation, and EventBridge's dead-letter queue when it cannot invoke at all.
# Standard, because neither can deliver to a FIFO queue.
resource "aws_sqs_queue" "reporter_failures" {
  name                      = local.reporter_failures_name
  message_retention_seconds = local.message_retention_seconds
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "reporter_failures" {
  queue_url = aws_sqs_queue.reporter_failures.id
  policy    = data.aws_iam_policy_document.reporter_failures_queue.json
}

data "aws_iam_policy_document" "reporter_failures_queue" {
  statement {
    sid       = "WeeklyReportRuleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.reporter_failures.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.weekly_report.arn]
    }
  }
}
