# A monthly cost budget with email alerts: at 80% of the amount actually spent, and as
# soon as AWS forecasts the month to go over it. It watches the whole account's cost: a
# filter on the Project tag would match nothing until that tag is activated as a cost
# allocation tag in the Billing console, and an account shared with other workloads should
# add one then (cost_filter TagKeyValue "user:Project$<name_prefix>"). Budgets without
# actions cost nothing.
resource "aws_budgets_budget" "monthly" {
  name         = "${var.name_prefix}-monthly"
  budget_type  = "COST"
  limit_amount = var.monthly_budget_usd
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = [var.budget_alert_email]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = [var.budget_alert_email]
  }
}
