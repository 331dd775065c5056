resource "aws_dynamodb_table" "query_events" {
  name                        = local.query_events_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "requestId"
  range_key                   = "eventKey" # "<eventType>#<timestamp>"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "requestId"
    type = "S"
  }

  attribute {
    name = "eventKey"
    type = "S"
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}

resource "aws_dynamodb_table" "analytics" {
  name                        = local.analytics_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "requestId"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "requestId"
    type = "S"
  }

  attribute {
    name = "week"
    type = "S"
  }

  attribute {
    name = "timestamp"
    type = "N"
  }

  global_secondary_index {
    name            = local.week_index_name
    hash_key        = "week"
    range_key       = "timestamp"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}

# One send record per reported week (see services/reporter/cv_reporter/send_log.py):
# the reporter's conditional writes on it keep a week to one email.
resource "aws_dynamodb_table" "reports" {
  name                        = local.reports_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "week" # "2025-W47"
  deletion_protection_enabled = var.table_deletion_protection

  attribute {
    name = "week"
    type = "S"
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}
