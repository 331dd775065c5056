"""Operating the pipeline: its health, the parked messages and the feed of processed records.

The data layer behind ``cv-analytics status | dlq | tail`` and the local console. Read-only
except ``redrive`` (outside a dry run).
"""

from cv_analytics.ops.dlq import (
    ParkedListing,
    ParkedMessage,
    ParkedMessageNotFound,
    RedriveOutcome,
    RedriveReport,
    list_parked,
    redrive,
    show_parked,
)
from cv_analytics.ops.feed import FeedEntry, RecordFeed, follow, latest_records
from cv_analytics.ops.health import (
    DeadLetterHealth,
    OutboxHealth,
    PipelineHealth,
    QueueHealth,
    RunnerHealth,
    pipeline_health,
)
from cv_analytics.ops.outbox_view import OutboxUnreadable

__all__ = [
    "DeadLetterHealth",
    "FeedEntry",
    "OutboxHealth",
    "OutboxUnreadable",
    "ParkedListing",
    "ParkedMessage",
    "ParkedMessageNotFound",
    "PipelineHealth",
    "QueueHealth",
    "RecordFeed",
    "RedriveOutcome",
    "RedriveReport",
    "RunnerHealth",
    "follow",
    "latest_records",
    "list_parked",
    "pipeline_health",
    "redrive",
    "show_parked",
]
