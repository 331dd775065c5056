"""The pipeline's resource definitions, read from ``infra/resources.toml``.

The same definitions drive local provisioning and the Terraform drift check, so a
queue or table has one shape wherever it runs.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

_RESOURCE_FILE = "resources.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeyAttribute(_Frozen):
    name: str
    type: Literal["S", "N", "B"]


class QueueSpec(_Frozen):
    name: str
    content_based_deduplication: bool
    message_retention_seconds: int
    receive_wait_time_seconds: int = 0


class DeadLetterQueueSpec(QueueSpec):
    max_receive_count: int


class FunctionSpec(_Frozen):
    timeout_seconds: int
    memory_mb: int


class ProcessorSpec(FunctionSpec):
    visibility_timeout_factor: int
    batch_size: int

    @property
    def visibility_timeout_seconds(self) -> int:
        return self.timeout_seconds * self.visibility_timeout_factor


class IndexSpec(_Frozen):
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None


class TableSpec(_Frozen):
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    ttl_attribute: str
    ttl_days: int
    global_secondary_indexes: tuple[IndexSpec, ...] = ()


class Tables(_Frozen):
    query_events: TableSpec
    analytics: TableSpec
    reports: TableSpec


class ScheduleSpec(_Frozen):
    rule_name: str
    expression: str


class ResourceSpec(_Frozen):
    queue: QueueSpec
    dead_letter_queue: DeadLetterQueueSpec
    processor: ProcessorSpec
    reporter: FunctionSpec
    tables: Tables
    schedule: ScheduleSpec


def _resource_text() -> str:
    packaged = importlib_resources.files("cv_analytics").joinpath(_RESOURCE_FILE)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # Source checkouts and editable installs read the file where it is maintained.
    checkout = Path(__file__).resolve().parents[2] / "infra" / _RESOURCE_FILE
    return checkout.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_resources() -> ResourceSpec:
    """The resource definitions shipped with this kit."""
    return ResourceSpec.model_validate(tomllib.loads(_resource_text()))


def week_index() -> str:
    """The name of the analytics table's index keyed by week, as resources.toml gives it."""
    analytics = load_resources().tables.analytics
    [name] = [gsi.name for gsi in analytics.global_secondary_indexes if gsi.partition_key.name == "week"]
    return name
