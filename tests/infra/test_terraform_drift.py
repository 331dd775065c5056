"""infra/terraform against infra/resources.toml: one shape wherever the pipeline runs.

``expectations()`` lists every value the Terraform must share with the resource
definitions, each derived from ``load_resources()``; a divergence fails its own
parametrised case, named after the Terraform attribute.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cv_analytics.resources import ResourceSpec, TableSpec, load_resources
from tests.support.terraform import TERRAFORM_DIR, Ref, TerraformModule, UnsupportedExpression

QUEUE = "aws_sqs_queue.queue"
DLQ = "aws_sqs_queue.dlq"
PROCESSOR = "aws_lambda_function.processor"
REPORTER = "aws_lambda_function.reporter"
EVENT_SOURCE = "aws_lambda_event_source_mapping.processor_queue"
RULE = "aws_cloudwatch_event_rule.weekly_report"
TARGET = "aws_cloudwatch_event_target.weekly_report"
TABLES = {
    "query_events": "aws_dynamodb_table.query_events",
    "analytics": "aws_dynamodb_table.analytics",
    "reports": "aws_dynamodb_table.reports",
}


def _same(value: Any) -> Any:
    return value


def _blocks(value: Any) -> list[dict[str, Any]]:
    """Repeated blocks as a list (a block that occurs once is entered as a mapping)."""
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _key_attributes(value: Any) -> list[tuple[str, str]]:
    return sorted((block["name"], block["type"]) for block in _blocks(value))


def _index_names(value: Any) -> list[str]:
    return sorted(block["name"] for block in _blocks(value))


@dataclass(frozen=True)
class Expect:
    """``view(attribute at path)`` of the Terraform resource must equal ``expected``."""

    address: str
    path: str
    expected: Any
    view: Callable[[Any], Any] = _same

    @property
    def id(self) -> str:
        return f"{self.address}.{self.path}"

    def divergence(self, module: TerraformModule) -> str | None:
        actual = self.view(module.attribute(self.address, self.path))
        if actual == self.expected:
            return None
        return f"{self.id}: terraform has {actual!r}, resources.toml implies {self.expected!r}"


def _queue_expectations(spec: ResourceSpec) -> list[Expect]:
    queue, dlq, processor = spec.queue, spec.dead_letter_queue, spec.processor
    shared = [
        expect
        for address, shape in ((QUEUE, queue), (DLQ, dlq))
        for expect in (
            Expect(address, "name", shape.name),
            Expect(address, "fifo_queue", shape.name.endswith(".fifo")),
            Expect(address, "content_based_deduplication", shape.content_based_deduplication),
            Expect(address, "message_retention_seconds", shape.message_retention_seconds),
        )
    ]
    return [
        *shared,
        Expect(QUEUE, "receive_wait_time_seconds", queue.receive_wait_time_seconds),
        Expect(QUEUE, "visibility_timeout_seconds", processor.visibility_timeout_seconds),
        Expect(QUEUE, "redrive_policy.maxReceiveCount", dlq.max_receive_count),
        Expect(QUEUE, "redrive_policy.deadLetterTargetArn", Ref(f"{DLQ}.arn")),
    ]


def _function_expectations(spec: ResourceSpec) -> list[Expect]:
    return [
        Expect(PROCESSOR, "timeout", spec.processor.timeout_seconds),
        Expect(PROCESSOR, "memory_size", spec.processor.memory_mb),
        Expect(REPORTER, "timeout", spec.reporter.timeout_seconds),
        Expect(REPORTER, "memory_size", spec.reporter.memory_mb),
        Expect(EVENT_SOURCE, "event_source_arn", Ref(f"{QUEUE}.arn")),
        Expect(EVENT_SOURCE, "batch_size", spec.processor.batch_size),
        # The processor reports failed records one by one (partial batch response).
        Expect(EVENT_SOURCE, "function_response_types", ["ReportBatchItemFailures"]),
    ]


def _table_expectations(address: str, table: TableSpec) -> list[Expect]:
    keys = [table.partition_key, table.sort_key]
    for index in table.global_secondary_indexes:
        keys += [index.partition_key, index.sort_key]
    defined = sorted({(key.name, key.type) for key in keys if key is not None})
    expectations = [
        Expect(address, "name", table.name),
        Expect(address, "hash_key", table.partition_key.name),
        Expect(address, "range_key", table.sort_key.name if table.sort_key else None),
        Expect(address, "attribute", defined, view=_key_attributes),
        Expect(address, "ttl.attribute_name", table.ttl_attribute),
        Expect(address, "ttl.enabled", True),
        Expect(
            address,
            "global_secondary_index",
            sorted(index.name for index in table.global_secondary_indexes),
            view=_index_names,
        ),
    ]
    for index in table.global_secondary_indexes:
        path = f"global_secondary_index[name={index.name}]"
        sort_name = index.sort_key.name if index.sort_key else None
        expectations += [
            Expect(address, f"{path}.hash_key", index.partition_key.name),
            Expect(address, f"{path}.range_key", sort_name),
        ]
    return expectations


def _schedule_expectations(spec: ResourceSpec) -> list[Expect]:
    return [
        Expect(RULE, "name", spec.schedule.rule_name),
        Expect(RULE, "schedule_expression", spec.schedule.expression),
        Expect(TARGET, "arn", Ref(f"{REPORTER}.arn")),
    ]


def expectations(spec: ResourceSpec) -> list[Expect]:
    """Every value infra/terraform must share with ``spec`` (at the default prefix)."""
    tables = [
        expect
        for key, address in TABLES.items()
        for expect in _table_expectations(address, getattr(spec.tables, key))
    ]
    return _queue_expectations(spec) + _function_expectations(spec) + tables + _schedule_expectations(spec)


def divergences(module: TerraformModule, spec: ResourceSpec) -> list[str]:
    return [d for expect in expectations(spec) if (d := expect.divergence(module))]


SPEC = load_resources()


@pytest.mark.parametrize("expect", expectations(SPEC), ids=lambda expect: expect.id)
def test_terraform_attribute_matches_resources_toml(terraform: TerraformModule, expect: Expect) -> None:
    """Each Terraform value equals the one infra/resources.toml defines or implies."""
    assert expect.divergence(terraform) is None


def test_terraform_tables_cover_every_table_in_resources_toml() -> None:
    """Every table of resources.toml has a Terraform resource the drift check compares."""
    assert set(TABLES) == set(type(SPEC.tables).model_fields)


def test_drift_check_flags_a_changed_processor_timeout(tmp_path: Path) -> None:
    """A processor timeout edited in Terraform alone shows up as drift, twice."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".terraform*"))
    locals_tf = copy / "locals.tf"
    source = locals_tf.read_text(encoding="utf-8")
    assert "processor_timeout_seconds = 30" in source
    locals_tf.write_text(source.replace("processor_timeout_seconds = 30", "processor_timeout_seconds = 45"))

    found = divergences(TerraformModule.load(copy), SPEC)

    assert [d.split(":")[0] for d in found] == [
        f"{QUEUE}.visibility_timeout_seconds",
        f"{PROCESSOR}.timeout",
    ]


def test_terraform_names_follow_name_prefix() -> None:
    """Resource names derive from var.name_prefix rather than being spelled out."""
    module = TerraformModule.load(name_prefix="staging")

    names = [module.attribute(address, "name") for address in (QUEUE, DLQ, *TABLES.values(), RULE)]

    assert names == [
        "staging-queue.fifo",
        "staging-dlq.fifo",
        "staging-query-events",
        "staging-analytics",
        "staging-reports",
        "staging-weekly-report",
    ]


def test_terraform_evaluator_rejects_unknown_expressions(terraform: TerraformModule) -> None:
    """An expression the evaluator cannot read fails loudly instead of comparing as text."""
    with pytest.raises(UnsupportedExpression):
        terraform.evaluate("${max(local.processor_timeout_seconds, 60)}")
