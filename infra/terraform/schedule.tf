resource "aws_cloudwatch_event_rule" "weekly_report" {
  name                = local.report_rule_name
  description         = "Weekly analytics report, Mondays 07:00 UTC"
  schedule_expression = local.report_schedule
}

resource "aws_cloudwatch_event_target" "weekly_report" {
  rule = aws_cloudwatch_event_rule.weekly_report.name
  arn  = aws_lambda_function.reporter.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }

  dead_letter_config {
    arn = aws_sqs_queue.reporter_failures.arn
  }
}

resource "aws_lambda_permission" "weekly_report" {
  statement_id  = "AllowWeeklyReportRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.reporter.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.weekly_report.arn
}
