"""infra/terraform against what the function code needs: environment and IAM grants.

The grants below are the least-privilege contract: every action each function's code
calls, on exactly the resources it calls it on. Widening a grant, or adding an
action, fails here first.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from cv_processor.settings import ProcessorSettings
from cv_reporter.settings import ReporterSettings
from tests.support.terraform import TERRAFORM_DIR, Ref, TerraformModule

# Set by Terraform for the Lambda runtime libraries, not read by the settings classes.
RUNTIME_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}

ENVIRONMENT = {
    "processor": {"QUERY_EVENTS_TABLE", "ANALYTICS_TABLE", "DLQ_URL", *RUNTIME_VARIABLES},
    "reporter": {"ANALYTICS_TABLE", "REPORTS_TABLE", "SENDER_EMAIL", "RECIPIENT_EMAIL", *RUNTIME_VARIABLES},
}
SETTINGS = {"processor": ProcessorSettings, "reporter": ReporterSettings}
# Values for the variables that have no default, as terraform.tfvars would give them.
TFVARS = {
    "region": "eu-west-2",
    "sender_email": "reports@example.com",
    "recipient_email": "owner@example.com",
    "alarm_email": "alerts@example.com",
    "budget_alert_email": "billing@example.com",
    "processor_image_tag": "p1234ab",
    "reporter_image_tag": "r1234ab",
}

_XRAY = {"xray:PutTraceSegments": ["*"], "xray:PutTelemetryRecords": ["*"]}
_TABLE_KEY = ["${aws_kms_key.data.arn}"]
GRANTS: dict[str, dict[str, list[str]]] = {
    "processor": {
        "logs:CreateLogStream": ["${aws_cloudwatch_log_group.processor.arn}:*"],
        "logs:PutLogEvents": ["${aws_cloudwatch_log_group.processor.arn}:*"],
        "sqs:ReceiveMessage": ["${aws_sqs_queue.queue.arn}"],
        "sqs:DeleteMessage": ["${aws_sqs_queue.queue.arn}"],
        "sqs:GetQueueAttributes": ["${aws_sqs_queue.queue.arn}"],
        "sqs:SendMessage": ["${aws_sqs_queue.dlq.arn}"],
        "dynamodb:PutItem": ["${aws_dynamodb_table.query_events.arn}"],
        "dynamodb:GetItem": ["${aws_dynamodb_table.analytics.arn}"],
        "dynamodb:UpdateItem": ["${aws_dynamodb_table.analytics.arn}"],
        "kms:Decrypt": _TABLE_KEY,
        "kms:Encrypt": _TABLE_KEY,
        "kms:GenerateDataKey": _TABLE_KEY,
        "kms:DescribeKey": _TABLE_KEY,
        **_XRAY,
    },
    "reporter": {
        "logs:CreateLogStream": ["${aws_cloudwatch_log_group.reporter.arn}:*"],
        "logs:PutLogEvents": ["${aws_cloudwatch_log_group.reporter.arn}:*"],
        "dynamodb:Query": ["${aws_dynamodb_table.analytics.arn}/index/week-index"],
        # The week's send record: a conditional claim, then the outcome.
        "dynamodb:GetItem": ["${aws_dynamodb_table.reports.arn}"],
        "dynamodb:UpdateItem": ["${aws_dynamodb_table.reports.arn}"],
        "kms:Decrypt": _TABLE_KEY,
        "kms:Encrypt": _TABLE_KEY,
        "kms:GenerateDataKey": _TABLE_KEY,
        "kms:DescribeKey": _TABLE_KEY,
        "ses:SendRawEmail": ["${aws_sesv2_email_identity.sender.arn}"],
        "sqs:SendMessage": ["${aws_sqs_queue.reporter_failures.arn}"],
        **_XRAY,
    },
}


def granted(module: TerraformModule, function: str) -> dict[str, list[str]]:
    """Action -> sorted resources of a function's policy document (static statements)."""
    grants: dict[str, set[str]] = {}
    for statement in module.data[f"aws_iam_policy_document.{function}"]["statement"]:
        resources = [str(r) for r in module.evaluate(statement["resources"])]
        for action in statement["actions"]:
            grants.setdefault(action, set()).update(resources)
    return {action: sorted(resources) for action, resources in grants.items()}


def aliases(settings: type) -> set[str]:
    return {f.validation_alias for f in settings.model_fields.values() if f.validation_alias}


@pytest.mark.parametrize("function", sorted(GRANTS))
def test_iam_policy_grants_only_what_the_function_calls(terraform: TerraformModule, function: str) -> None:
    """Each role may make exactly the listed calls, on exactly the listed resources."""
    assert granted(terraform, function) == GRANTS[function]


@pytest.mark.parametrize("function", sorted(GRANTS))
def test_iam_policy_uses_wildcard_resource_only_for_xray(terraform: TerraformModule, function: str) -> None:
    """A "*" resource appears only for X-Ray writes, which have no resource-level ARNs."""
    wildcards = {a for a, resources in granted(terraform, function).items() if "*" in resources}
    assert wildcards <= set(_XRAY)


@pytest.mark.parametrize("function", sorted(ENVIRONMENT))
def test_lambda_environment_sets_the_contracted_variables(function: str) -> None:
    """Each function gets exactly the environment variables its code is built around."""
    variables = TerraformModule.load(**TFVARS).attribute(
        f"aws_lambda_function.{function}", "environment.variables"
    )
    assert set(variables) == ENVIRONMENT[function]


@pytest.mark.parametrize("function", sorted(ENVIRONMENT))
def test_lambda_environment_names_are_read_by_settings(function: str) -> None:
    """Every variable Terraform sets (bar runtime ones) is one the settings class reads."""
    assert ENVIRONMENT[function] - RUNTIME_VARIABLES <= aliases(SETTINGS[function])


@pytest.mark.parametrize("function", sorted(ENVIRONMENT))
def test_lambda_environment_covers_required_settings(function: str) -> None:
    """Every setting without a default is set by Terraform."""
    settings = SETTINGS[function]
    required = {f.validation_alias for f in settings.model_fields.values() if f.is_required()}
    assert required <= ENVIRONMENT[function]


def test_lambda_functions_run_the_tagged_image_from_their_repository() -> None:
    """Each function is an image from its own ECR repository, at its image tag variable."""
    module = TerraformModule.load(**TFVARS)
    images = {
        fn: (
            module.attribute(f"aws_lambda_function.{fn}", "package_type"),
            module.attribute(f"aws_lambda_function.{fn}", "image_uri"),
        )
        for fn in ("processor", "reporter")
    }
    assert images == {
        fn: ("Image", f'${{aws_ecr_repository.function["{fn}"].repository_url}}:{fn[0]}1234ab')
        for fn in ("processor", "reporter")
    }


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_files_are_formatted() -> None:
    """`terraform fmt -check` finds nothing to change (it works offline)."""
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("table", ["query_events", "analytics", "reports"])
def test_dynamodb_tables_are_protected_encrypted_and_recoverable(
    terraform: TerraformModule, table: str
) -> None:
    """Every table has deletion protection, point-in-time recovery and the stack's KMS key."""
    address = f"aws_dynamodb_table.{table}"
    protection = (
        terraform.attribute(address, "deletion_protection_enabled"),
        terraform.attribute(address, "point_in_time_recovery.enabled"),
        terraform.attribute(address, "server_side_encryption.enabled"),
        terraform.attribute(address, "server_side_encryption.kms_key_arn"),
    )
    assert protection == (True, True, True, Ref("aws_kms_key.data.arn"))
