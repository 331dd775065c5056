"""infra/terraform's alarms on the functions' own metrics and the cost budget, against the
code that emits the metrics and the cost model that counts the alarms."""

from __future__ import annotations

import pytest

from cv_analytics.cost import Assumptions
from cv_analytics.emf import DEFAULT_NAMESPACE
from cv_processor import metrics as processor_metrics
from cv_reporter import metrics as reporter_metrics
from tests.support.terraform import Ref, TerraformModule

PARKED = 'aws_cloudwatch_metric_alarm.pipeline["parked-events"]'
NO_REPORT = "aws_cloudwatch_metric_alarm.no_report_in_week"
RAN_RECENTLY = "aws_cloudwatch_metric_alarm.reporter_ran_recently"
COMPOSITE = "aws_cloudwatch_composite_alarm.no_weekly_report"
BUDGET = "aws_budgets_budget.monthly"
MAX_EVALUATION_SECONDS = 7 * 86_400  # CloudWatch's limit on Period x EvaluationPeriods
DEFAULTS = Assumptions(queries_per_week=0)


def test_metrics_namespace_matches_the_code_default(terraform: TerraformModule) -> None:
    """Terraform's metrics namespace is the one the functions use when none is set."""
    assert terraform.evaluate("${local.metrics_namespace}") == DEFAULT_NAMESPACE


def test_parked_alarm_watches_the_processors_parked_metric(terraform: TerraformModule) -> None:
    """The parked-events alarm reads EventsParked, summed per processor service, above 0."""
    parked = terraform.evaluate(terraform.locals["alarms"])["parked-events"]
    assert parked["metric_name"] in processor_metrics.ALWAYS_EMITTED
    assert (parked["namespace"], parked["statistic"], parked["threshold"]) == (DEFAULT_NAMESPACE, "Sum", 0)
    assert parked["dimensions"] == {"service": "cv-analytics-processor"}


def test_no_report_alarm_covers_a_week_and_treats_silence_as_breaching(terraform: TerraformModule) -> None:
    """ReportsSent summed under 1 on all seven days alarms, and a week without data is breaching."""
    attribute = lambda path: terraform.attribute(NO_REPORT, path)  # noqa: E731
    assert attribute("metric_name") in reporter_metrics.ALWAYS_EMITTED
    assert attribute("dimensions") == {"service": "cv-analytics-reporter"}
    assert (attribute("statistic"), attribute("comparison_operator"), attribute("threshold")) == (
        "Sum",
        "LessThanThreshold",
        1,
    )
    assert attribute("period") * attribute("evaluation_periods") == MAX_EVALUATION_SECONDS
    assert attribute("datapoints_to_alarm") == attribute("evaluation_periods")
    assert attribute("treat_missing_data") == "breaching"


def test_no_report_notification_waits_for_a_running_reporter(terraform: TerraformModule) -> None:
    """Only the composite alarm notifies, suppressed while the reporter has just been invoked."""
    assert terraform.attribute(NO_REPORT, "alarm_actions") is None
    assert terraform.attribute(COMPOSITE, "alarm_rule") == f'ALARM("{Ref(NO_REPORT + ".alarm_name")}")'
    assert terraform.attribute(COMPOSITE, "actions_suppressor.alarm") == Ref(RAN_RECENTLY + ".alarm_name")
    assert terraform.attribute(COMPOSITE, "alarm_actions") == [Ref("aws_sns_topic.alarms.arn")]
    assert terraform.attribute(RAN_RECENTLY, "metric_name") == "Invocations"


def test_budget_alerts_by_email_at_the_configured_amount() -> None:
    """The monthly cost budget is the variable's amount, and both alerts go to its address."""
    module = TerraformModule.load(monthly_budget_usd=25, budget_alert_email="billing@example.com")
    assert module.attribute(BUDGET, "limit_amount") == 25
    assert (module.attribute(BUDGET, "time_unit"), module.attribute(BUDGET, "limit_unit")) == (
        "MONTHLY",
        "USD",
    )
    notifications = module.evaluate(module.resource(BUDGET)["notification"])
    assert sorted((n["notification_type"], n["threshold"]) for n in notifications) == [
        ("ACTUAL", 80),
        ("FORECASTED", 100),
    ]
    assert all(n["subscriber_email_addresses"] == ["billing@example.com"] for n in notifications)


def test_cost_model_counts_the_alarms_terraform_creates(terraform: TerraformModule) -> None:
    """The cost model's alarm counts are the metric and composite alarms in infra/terraform."""
    metric_alarms = len(terraform.locals["alarms"]) + sum(
        1
        for address in terraform.resources
        if address.startswith("aws_cloudwatch_metric_alarm.")
        and address != "aws_cloudwatch_metric_alarm.pipeline"
    )
    composite = sum(
        1 for address in terraform.resources if address.startswith("aws_cloudwatch_composite_alarm.")
    )
    assert (DEFAULTS.standard_alarms, DEFAULTS.composite_alarms) == (metric_alarms, composite)


@pytest.mark.parametrize(
    ("field", "expression"),
    [
        ("processor_memory_mb", "${local.processor_memory_mb}"),
        ("reporter_memory_mb", "${local.reporter_memory_mb}"),
        ("log_retention_days", "${var.log_retention_days}"),
        ("images_kept", "${var.ecr_images_to_keep}"),
        ("architecture", "${var.lambda_architecture}"),
    ],
)
def test_cost_model_defaults_match_terraform(terraform: TerraformModule, field: str, expression: str) -> None:
    """Each cost assumption that Terraform configures has Terraform's default value."""
    assert getattr(DEFAULTS, field) == terraform.evaluate(expression)
