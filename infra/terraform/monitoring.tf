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
    parked-events = {
      description = "The processor parked events in the DLQ (its EventsParked metric; the reason dimension says why)."
      namespace   = local.metrics_namespace
      metric_name = "EventsParked"
      statistic   = "Sum"
      dimensions  = { service = local.processor_name }
      threshold   = 0
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

# A week with no report. The reporter emits ReportsSent (1 when it mailed a report, 0
# otherwise) on every run. CloudWatch evaluates at most 7 days (Period x EvaluationPeriods
# <= 604,800 s), exactly one reporting interval, so on its own this alarm would flap every
# Monday in the minute between last week's report leaving the window and this week's
# arriving. It therefore notifies nobody itself: the composite alarm below does, unless the
# reporter was invoked in the last 6 hours (the run that is about to report, or has just
# failed; failures have their own alarms). Missing data is breaching: no run at all is the
# case to catch. After a first deployment it stays in ALARM until the first report is sent.
resource "aws_cloudwatch_metric_alarm" "no_report_in_week" {
  alarm_name          = "${var.name_prefix}-no-report-in-week"
  alarm_description   = "No weekly report was sent in the last 7 days (notifies through ${var.name_prefix}-no-weekly-report)."
  namespace           = local.metrics_namespace
  metric_name         = "ReportsSent"
  statistic           = "Sum"
  dimensions          = { service = local.reporter_name }
  period              = 86400
  evaluation_periods  = 7
  datapoints_to_alarm = 7
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
}

resource "aws_cloudwatch_metric_alarm" "reporter_ran_recently" {
  alarm_name          = "${var.name_prefix}-reporter-ran-recently"
  alarm_description   = "The reporter was invoked in the last 6 hours (suppresses the no-report notification meanwhile; ALARM here is not a fault)."
  namespace           = "AWS/Lambda"
  metric_name         = "Invocations"
  statistic           = "Sum"
  dimensions          = local.reporter_dimensions
  period              = 3600
  evaluation_periods  = 6
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
}

resource "aws_cloudwatch_composite_alarm" "no_weekly_report" {
  alarm_name        = "${var.name_prefix}-no-weekly-report"
  alarm_description = "No weekly report in 7 days and the reporter has not run in the last 6 hours: the schedule did not fire, or the last run sent nothing."
  alarm_rule        = "ALARM(\"${aws_cloudwatch_metric_alarm.no_report_in_week.alarm_name}\")"
  alarm_actions     = [aws_sns_topic.alarms.arn]

  actions_suppressor {
    alarm            = aws_cloudwatch_metric_alarm.reporter_ran_recently.alarm_name
    wait_period      = 600
    extension_period = 60
  }
}
