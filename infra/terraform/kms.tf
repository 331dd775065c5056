# One customer managed key for the data at rest that can hold visitor queries or
# their aggregates: both DynamoDB tables (and their PITR backups), the functions'
# log groups and the alarm topic. A CMK, rather than the AWS owned key, puts every
# use of that data in CloudTrail, lets access be revoked in one place, and makes
# the data unreadable when the key is scheduled for deletion; it costs about
# 1 USD a month. The SQS queues use SQS managed SSE instead, so that the ingest
# API (outside this stack) and EventBridge need no grant on this key.
resource "aws_kms_key" "data" {
  description             = "${var.name_prefix}: DynamoDB tables, Lambda log groups, alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.data_key.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name_prefix}-data"
  target_key_id = aws_kms_key.data.key_id
}

data "aws_iam_policy_document" "data_key" {
  # checkov:skip=CKV_AWS_109: a key policy's "*" resource is this key only; the account-root statement is the AWS default that delegates key administration to IAM.
  # checkov:skip=CKV_AWS_111: a key policy's "*" resource is this key only; service principals are limited by encryption-context and source conditions.
  # checkov:skip=CKV_AWS_356: a key policy's "*" resource is this key only, the one form KMS accepts.
  statement {
    sid       = "AccountManagesKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThisStacksLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["${local.lambda_log_group_arn_prefix}*"]
    }
  }

  # Without this CloudWatch cannot publish to the encrypted topic and alarms are
  # dropped silently.
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.alarm_arn_prefix}*"]
    }
  }
}
