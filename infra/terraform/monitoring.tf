resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.data.arn
}

# Email subscriptions stay "pending confirmation" until the link AWS sends is
# clicked; until then alarms notify nobody.
resource "aws_sns_topic_subscription" "alarm_email" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  processor_dimensions = { FunctionName = aws_lambda_function.processor.function_name }
  reporter_dimensions  = { FunctionName = aws_lambda_function.reporter.function_name }

  # What each alarm means and what to do about it: docs/production.md, "Alarms".
  alarms = {
    processor-errors = {
      description = "The processor raised or timed out (per-record failures are retried and do not count)."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      dimensions  = local.processor_dimensions
      threshold   = 0
    }
    processor-throttles = {
      description = "Processor invocations were throttled (concurrency limits)."
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      statistic   = "Sum"
      dimensions  = local.processor_dimensions
      threshold   = 0
    }
    processor-duration = {
      description = "A processor invocation used more than 80% of its timeout."
      namespace   = "AWS/Lambda"
      metric_name = "Duration"
      statistic   = "Maximum"
      dimensions  = local.processor_dimensions
      threshold   = local.processor_timeout_seconds * 1000 * 0.8
    }
    reporter-errors = {
      description = "The weekly report failed."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      dimensions  = local.reporter_dimensions
      threshold   = 0
    }
    dlq-messages = {
      description = "Events the processor could not handle are waiting in the dead-letter queue."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.dlq.name }
      threshold   = 0
    }
    queue-oldest-message = {
      description = "Events wait on the main queue longer than expected: the processor is failing, throttled or stopped."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.queue.name }
      threshold   = var.queue_age_alarm_seconds
    }
    reporter-failures = {
      description = "A weekly report invocation failed for good or could not be delivered to the reporter."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.reporter_failures.name }
      threshold   = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "pipeline" {
  for_each = local.alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
