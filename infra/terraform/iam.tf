# One role per function, each allowed only the calls its code makes, on this
# stack's resources.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "processor" {
  name               = "${local.processor_name}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role" "reporter" {
  name               = "${local.reporter_name}-role"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "processor" {
  name   = "${local.processor_name}-policy"
  role   = aws_iam_role.processor.id
  policy = data.aws_iam_policy_document.processor.json
}

resource "aws_iam_role_policy" "reporter" {
  name   = "${local.reporter_name}-policy"
  role   = aws_iam_role.reporter.id
  policy = data.aws_iam_policy_document.reporter.json
}

data "aws_iam_policy_document" "processor" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.processor.arn}:*"]
  }

  statement {
    sid       = "ConsumeQueueThroughEventSource"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.queue.arn]
  }

  statement {
    sid       = "SendPoisonMessagesToDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "StoreRawEvents"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.query_events.arn]
  }

  statement {
    sid       = "CorrelateAnalyticsRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.analytics.arn]
  }

  statement {
    sid       = "UseTableKeyThroughDynamoDb"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  # X-Ray's write actions support no resource-level permissions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "reporter" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.reporter.arn}:*"]
  }

  statement {
    sid       = "QueryWeekIndex"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.analytics.arn}/index/${local.week_index_name}"]
  }

  statement {
    sid       = "ClaimAndRecordWeeklySends"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.reports.arn]
  }

  # Encrypt and GenerateDataKey for the writes to the reports table.
  statement {
    sid       = "UseTableKeyThroughDynamoDb"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.data.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  statement {
    sid       = "SendReportFromSenderIdentity"
    actions   = ["ses:SendRawEmail"]
    resources = [aws_sesv2_email_identity.sender.arn]
  }

  # Only while in the SES sandbox (see ses.tf).
  dynamic "statement" {
    for_each = aws_sesv2_email_identity.recipient
    content {
      sid       = "SendToVerifiedRecipientInSandbox"
      actions   = ["ses:SendRawEmail"]
      resources = [statement.value.arn]
    }
  }

  statement {
    sid       = "RecordFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.reporter_failures.arn]
  }

  # X-Ray's write actions support no resource-level permissions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}
