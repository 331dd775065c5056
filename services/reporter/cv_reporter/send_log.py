"""The ``reports`` table: one send record per week, changed only by conditional writes.

The store offers the writes; which one to make, and when, is the reporter's policy
(cv_reporter.reporting). Every write after the claim is conditional on the claim's token,
so a run that lost its claim can never overwrite what another run recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cv_analytics.aws.dynamodb import from_item, to_attribute
from cv_analytics.records import expires_at
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class SendStatus(StrEnum):
    SENDING = "sending"  # claimed; a run holds the week until its lease expires
    SENT = "sent"  # SES answered with a MessageId
    UNKNOWN = "unknown"  # the request may have reached SES but no answer came back
    FAILED = "failed"  # SES refused or was unreachable: nothing sent, the week is free


@dataclass(frozen=True, slots=True)
class SendRecord:
    week: str
    status: SendStatus
    message_id: str | None = None
    sent_at: str | None = None
    sends: int = 0
    lease_expires_at: int | None = None
    attempt_started_at: str | None = None
    last_error: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> SendRecord:
        values = from_item(item)
        return cls(
            week=values["week"],
            status=SendStatus(values["status"]),
            message_id=values.get("messageId"),
            sent_at=values.get("sentAt"),
            sends=values.get("sends", 0),
            lease_expires_at=values.get("leaseExpiresAt"),
            attempt_started_at=values.get("attemptStartedAt"),
            last_error=values.get("lastError"),
        )

    def outcome_unknown(self, *, now: datetime) -> bool:
        """Unknown as recorded, or a run died (its lease ran out) after its request went out."""
        if self.status is SendStatus.UNKNOWN:
            return True
        expired = self.lease_expires_at is not None and self.lease_expires_at < now.timestamp()
        return self.status is SendStatus.SENDING and expired and self.attempt_started_at is not None


# A week may be claimed when it has no record, when the last attempt failed outright,
# or when a run died before its request went out (lease expired, no attempt recorded).
_FREE = (
    "attribute_not_exists(#week) OR #status = :failed"
    " OR (#status = :sending AND #lease < :now AND attribute_not_exists(#attempt))"
)
# --force also takes a sent or unknown week; never one a live run is sending.
_FORCEABLE = "attribute_not_exists(#week) OR #status <> :sending OR #lease < :now"


class WeekTaken(Exception):
    """The week is not free to claim (sent, unknown, or another run holds it)."""


class SendLog:
    def __init__(self, *, client: DynamoDBClient | None = None, table_name: str, ttl_days: int) -> None:
        self._dynamodb = client
        self._table = table_name
        self._ttl_days = ttl_days

    @property
    def _client(self) -> DynamoDBClient:
        if self._dynamodb is None:
            from cv_analytics.aws.clients import aws_client

            self._dynamodb = aws_client("dynamodb")
        return self._dynamodb

    def claim(
        self, week: IsoWeek, *, token: str, now: datetime, lease_seconds: int, force: bool
    ) -> SendRecord | None:
        """Take ``week`` for one send: the record as it was before (None if there was none).

        Raises WeekTaken when the week is not free."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"week": to_attribute(str(week))},
                UpdateExpression=(
                    "SET #status = :sending, #token = :token, #lease = :lease, #claimedAt = :at,"
                    " #expiresAt = :expires REMOVE #attempt, #lastError"
                ),
                ConditionExpression=_FORCEABLE if force else _FREE,
                ExpressionAttributeNames=_names("status", "token", "lease", "claimedAt", "expiresAt")
                | _names("week", "attempt", "lastError"),
                ExpressionAttributeValues=_values(
                    sending=SendStatus.SENDING.value,
                    token=token,
                    lease=int(now.timestamp()) + lease_seconds,
                    at=now.isoformat(),
                    expires=expires_at(int(now.timestamp()), ttl_days=self._ttl_days),
                    now=int(now.timestamp()),
                    **({} if force else {"failed": SendStatus.FAILED.value}),
                ),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise WeekTaken(str(week)) from exc
            raise
        previous = response.get("Attributes")
        return SendRecord.from_item(previous) if previous else None

    def get(self, week: IsoWeek) -> SendRecord | None:
        item = self._client.get_item(
            TableName=self._table, Key={"week": to_attribute(str(week))}, ConsistentRead=True
        ).get("Item")
        return SendRecord.from_item(item) if item else None

    def mark_attempt(self, week: IsoWeek, *, token: str, now: datetime) -> None:
        """The request is about to go out: from here on a crash leaves the outcome unknown."""
        self._update(week, token=token, sets={"attempt": ("attemptStartedAt", now.isoformat())})

    def mark_sent(self, week: IsoWeek, *, token: str, message_id: str, now: datetime) -> None:
        self._update(
            week,
            token=token,
            sets={
                "status": ("status", SendStatus.SENT.value),
                "messageId": ("messageId", message_id),
                "sentAt": ("sentAt", now.isoformat()),
            },
            extra="ADD #sends :one",
            extra_names=_names("sends"),
            extra_values=_values(one=1),
        )

    def mark_unknown(self, week: IsoWeek, *, token: str, reason: str) -> None:
        sets = {"status": ("status", SendStatus.UNKNOWN.value), "lastError": ("lastError", reason)}
        self._update(week, token=token, sets=sets)

    def release(self, week: IsoWeek, *, token: str, restore: SendStatus, reason: str) -> None:
        """Nothing was sent: give the week back in the state it had before the claim."""
        sets = {"status": ("status", restore.value), "lastError": ("lastError", reason)}
        self._update(week, token=token, sets=sets)

    def _update(
        self,
        week: IsoWeek,
        *,
        token: str,
        sets: dict[str, tuple[str, Any]],
        extra: str = "",
        extra_names: dict[str, str] | None = None,
        extra_values: dict[str, AttributeValueTypeDef] | None = None,
    ) -> None:
        """Write ``sets`` ({placeholder: (attribute, value)}) if the claim is still ``token``'s."""
        clauses = ", ".join(f"#{key} = :{key}" for key in sets)
        self._client.update_item(
            TableName=self._table,
            Key={"week": to_attribute(str(week))},
            UpdateExpression=f"SET {clauses} {extra}".strip(),
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={f"#{key}": attribute for key, (attribute, _) in sets.items()}
            | _names("token")
            | (extra_names or {}),
            ExpressionAttributeValues={f":{key}": to_attribute(value) for key, (_, value) in sets.items()}
            | _values(token=token)
            | (extra_values or {}),
        )


def _names(*attributes: str) -> dict[str, str]:
    aliases = {"lease": "leaseExpiresAt", "attempt": "attemptStartedAt", "token": "claimToken"}
    return {f"#{name}": aliases.get(name, name) for name in attributes}


def _values(**values: Any) -> dict[str, AttributeValueTypeDef]:
    return {f":{name}": to_attribute(value) for name, value in values.items()}
