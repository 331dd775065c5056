"""infra/terraform evaluated by Terraform itself: `validate`, then `plan` against the embedded
emulator (the AWS provider honours AWS_ENDPOINT_URL), checking the planned values.

Terraform needs its AWS provider. It comes from a local mirror when TERRAFORM_PLUGIN_DIR names
one, otherwise from the registry; when neither works these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cv_analytics.embedded import EmbeddedAws
from cv_analytics.resources import load_resources
from tests.support.network import free_port
from tests.support.terraform import TERRAFORM_DIR

SPEC = load_resources()
VARIABLES = {
    "region": "us-east-1",
    "sender_email": "reports@example.com",
    "recipient_email": "owner@example.com",
    "alarm_email": "alerts@example.com",
    "budget_alert_email": "billing@example.com",
    "processor_image_tag": "0123abc",
    "reporter_image_tag": "0123abc",
}


def _terraform(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["terraform", *args, "-no-color"],
        cwd=workdir,
        env={**os.environ, "TF_IN_AUTOMATION": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of infra/terraform with its provider installed (the checkout stays clean)."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    workdir = tmp_path_factory.mktemp("terraform")
    shutil.copytree(TERRAFORM_DIR, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".terraform*"))
    mirror = os.environ.get("TERRAFORM_PLUGIN_DIR")
    args = ["init", "-backend=false", "-input=false", *([f"-plugin-dir={mirror}"] if mirror else [])]
    result = _terraform(workdir, *args)
    if result.returncode != 0:
        lines = [line.strip("│ ") for line in result.stderr.splitlines()]
        first = next((line for line in lines if line.startswith("Error")), lines[-1] if lines else "")
        pytest.skip(f"the AWS provider could not be installed (set TERRAFORM_PLUGIN_DIR): {first}")
    return workdir


@pytest.fixture(scope="module")
def plan(initialised: Path) -> Iterator[dict[str, Any]]:
    """The plan JSON for a fresh stack, made against the embedded emulator."""
    emulator = EmbeddedAws(port=free_port())
    endpoint = emulator.start()
    try:
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        variables = [f"-var={name}={value}" for name, value in VARIABLES.items()]
        result = _terraform(initialised, "plan", "-input=false", "-out=tfplan", *variables, env=env)
        assert result.returncode == 0, result.stderr[-4000:]
        shown = _terraform(initialised, "show", "-json", "tfplan", env=env)
        assert shown.returncode == 0, shown.stderr[-4000:]
        yield json.loads(shown.stdout)
    finally:
        emulator.stop()


def _planned(plan: dict[str, Any], address: str) -> dict[str, Any]:
    changes = {change["address"]: change for change in plan["resource_changes"]}
    assert address in changes, f"{address} is not in the plan"
    return changes[address]["change"]["after"]


def test_terraform_validate_accepts_configuration(initialised: Path) -> None:
    """`terraform validate` finds the configuration valid."""
    result = _terraform(initialised, "validate")
    assert result.returncode == 0, result.stderr


def test_terraform_plan_creates_everything_and_changes_nothing(plan: dict[str, Any]) -> None:
    """On an empty account the plan only creates, including both image functions."""
    managed = [change for change in plan["resource_changes"] if change["mode"] == "managed"]
    assert {tuple(change["change"]["actions"]) for change in managed} == {("create",)}
    functions = [c for c in plan["resource_changes"] if c["type"] == "aws_lambda_function"]
    assert sorted(f["change"]["after"]["package_type"] for f in functions) == ["Image", "Image"]


def test_terraform_plan_queue_matches_resource_definitions(plan: dict[str, Any]) -> None:
    """The planned main queue has the FIFO, visibility and redrive settings of resources.toml."""
    queue = _planned(plan, "aws_sqs_queue.queue")
    assert queue["name"] == SPEC.queue.name
    assert queue["fifo_queue"] is True
    assert queue["visibility_timeout_seconds"] == SPEC.processor.visibility_timeout_seconds


def test_terraform_plan_tables_match_resource_definitions(plan: dict[str, Any]) -> None:
    """The planned tables have the names, keys, week index and TTL of resources.toml."""
    analytics = _planned(plan, "aws_dynamodb_table.analytics")
    assert analytics["name"] == SPEC.tables.analytics.name
    assert analytics["hash_key"] == "requestId"
    [index] = analytics["global_secondary_index"]
    assert (index["name"], index["hash_key"], index["range_key"]) == ("week-index", "week", "timestamp")
    assert analytics["ttl"] == [{"attribute_name": "expiresAt", "enabled": True}]
    raw = _planned(plan, "aws_dynamodb_table.query_events")
    assert (raw["name"], raw["range_key"]) == (SPEC.tables.query_events.name, "eventKey")


def test_terraform_plan_reports_table_matches_resource_definitions(plan: dict[str, Any]) -> None:
    """The planned send-record table is keyed by week, with TTL, PITR and the stack's key."""
    reports = _planned(plan, "aws_dynamodb_table.reports")
    assert (reports["name"], reports["hash_key"]) == (SPEC.tables.reports.name, "week")
    assert reports["ttl"] == [{"attribute_name": "expiresAt", "enabled": True}]
    assert reports["point_in_time_recovery"][0]["enabled"] is True
    assert reports["deletion_protection_enabled"] is True


def test_terraform_plan_schedule_matches_resource_definitions(plan: dict[str, Any]) -> None:
    """The planned rule fires on the schedule of resources.toml."""
    rules = [
        c["change"]["after"] for c in plan["resource_changes"] if c["type"] == "aws_cloudwatch_event_rule"
    ]
    assert [rule["schedule_expression"] for rule in rules] == [SPEC.schedule.expression]
