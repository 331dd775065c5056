# The pipeline's resource shapes. They mirror infra/resources.toml, the single
# source of truth; tests/infra/test_terraform_drift.py fails when the two diverge,
# so change both together.
locals {
  queue_name              = "${var.name_prefix}-queue.fifo"
  dlq_name                = "${var.name_prefix}-dlq.fifo"
  query_events_table_name = "${var.name_prefix}-query-events"
  analytics_table_name    = "${var.name_prefix}-analytics"
  reports_table_name      = "${var.name_prefix}-reports"
  week_index_name         = "week-index"
  report_rule_name        = "${var.name_prefix}-weekly-report"
  report_schedule         = "cron(0 7 ? * MON *)" # UTC: EventBridge rules have no time zone

  message_retention_seconds = 1209600
  receive_wait_time_seconds = 20
  max_receive_count         = 3

  processor_timeout_seconds = 30
  processor_memory_mb       = 256
  processor_batch_size      = 10
  visibility_timeout_factor = 6
  reporter_timeout_seconds  = 60
  reporter_memory_mb        = 256

  ttl_attribute = "expiresAt"

  # CloudWatch namespace of the functions' own metrics (EMF, POWERTOOLS_METRICS_NAMESPACE);
  # the code's default is the same (cv_analytics.emf.DEFAULT_NAMESPACE).
  metrics_namespace = "CvAnalytics"

  # Names that only exist in AWS (not in resources.toml).
  processor_name              = "${var.name_prefix}-processor"
  reporter_name               = "${var.name_prefix}-reporter"
  reporter_failures_name      = "${var.name_prefix}-reporter-failures"
  lambda_log_group_arn_prefix = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name_prefix}-"
  alarm_arn_prefix            = "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:alarm:${var.name_prefix}-"
}
