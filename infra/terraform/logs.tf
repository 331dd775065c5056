# Created here (not by Lambda on first run) so that retention and encryption are
# set, and so that the functions need no logs:CreateLogGroup permission.
resource "aws_cloudwatch_log_group" "processor" {
  # checkov:skip=CKV_AWS_338: logs can quote visitor queries; they are kept no longer than the analytics records (var.log_retention_days, default 90) rather than a year.
  name              = "/aws/lambda/${local.processor_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_cloudwatch_log_group" "reporter" {
  # checkov:skip=CKV_AWS_338: logs can quote visitor queries; they are kept no longer than the analytics records (var.log_retention_days, default 90) rather than a year.
  name              = "/aws/lambda/${local.reporter_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}
