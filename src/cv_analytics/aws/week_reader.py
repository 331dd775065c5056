"""Stream a week of analytics records out of DynamoDB into the report's running tallies.

The week index is read with a paginated Query (never a Scan) that asks only for the
attributes the report uses; each page is decoded straight from DynamoDB's attribute
values into the tallies and then dropped, so memory stays flat whatever the week's size.
Last week only feeds the comparison (totals and skill counts) and is read with an even
smaller projection.

Pages cannot be made larger than DynamoDB's 1 MB: ``Limit`` can only lower it, and the
1 MB is counted on the items read, before the projection is applied. Projecting still
pays: less to send, to parse and to decode.

Given a ``KeptComparisons`` (the reports table), a week's comparison figures (totals and
skill counts, a few hundred bytes) are kept with the week's report when it is built, and
next week's report reads them instead of the whole previous week: against an emulator that
sorts the whole table for every page, that halves the report's reading. Without kept
figures (the first report, figures of an older format) the previous week is read as before.
Kept figures are last week *as it was reported*: records of that week that arrive after its
report are not in them, as they are not in the email that went out.

boto3's ``TypeDeserializer`` is not used: it is generic (Decimals, sets, binary) and costs
more than the rest of the reporter's work together. The few projected attributes are
strings, integers and lists of strings, decoded here directly. For the same reason the
items of a Query response skip botocore's generic response parser (see ``items_as_sent``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from cv_analytics.aggregation import Comparison, ComparisonFigures, ComparisonTally, WeeklySummary, WeekTally
from cv_analytics.records import Status
from cv_analytics.resources import week_index
from cv_analytics.weeks import IsoWeek

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Status, latency and session are derived from the halves' own attributes, as
# records.derive specifies them: status and latency are never stored, and records written
# by earlier versions (which stored them) read the same. Each attribute left out is one less
# to send, parse and decode for every record.
COMPARISON_ATTRIBUTES = (
    "queryTimestamp",
    "responseTimestamp",
    "querySessionId",
    "responseSessionId",
    "sourcesUsed",
)
"""What last week's comparison uses: totals (status, session) and skill counts."""
WEEK_ATTRIBUTES = (*COMPARISON_ATTRIBUTES, "query", "matchType", "matchScore")
"""What the report uses of its own week."""

log = logging.getLogger(__name__)

# The reports table's attribute holding a week's comparison figures (JSON text).
COMPARISON_ATTRIBUTE = "comparisonFigures"
# Far below DynamoDB's 400 KB item limit, so the send log's own attributes always fit beside.
MAX_KEPT_BYTES = 64_000

# How binary values appear in DynamoDB JSON; botocore decodes them, json.loads would not.
_BINARY_MARKERS = (b'"B":', b'"BS":')
Item = Mapping[str, Mapping[str, Any]]
"""A record as the low-level client returns it: attribute name -> typed value."""


class WeekReader:
    """Reads the analytics table's week index into report tallies, one page at a time.

    It installs ``items_as_sent`` on its client (when first used), which changes nothing a
    caller can see in that client's Query results, only how fast they are parsed.
    """

    def __init__(
        self,
        *,
        client: DynamoDBClient | None = None,
        table_name: str,
        index_name: str | None = None,
        comparisons: KeptComparisons | None = None,
    ) -> None:
        self._dynamodb = None if client is None else _parsing_items_as_sent(client)
        self._table = table_name
        self._index = index_name or week_index()
        self._comparisons = comparisons

    @property
    def _client(self) -> DynamoDBClient:
        if self._dynamodb is None:
            from cv_analytics.aws.clients import aws_client

            self._dynamodb = _parsing_items_as_sent(aws_client("dynamodb"))
        return self._dynamodb

    def summarise(self, week: IsoWeek) -> WeeklySummary:
        """``week``'s summary compared with the week before, as ``summarise_week`` gives it
        (the week before as kept with its report, if it was)."""
        tally = self.tally_week(week)
        previous = self.comparison(week.previous())
        if self._comparisons is not None:
            self._comparisons.keep(week, tally.figures())
        return tally.summary(week=week, previous=previous)

    def comparison(self, week: IsoWeek) -> Comparison:
        """What ``week`` contributes to the next week's report: kept figures, else counted."""
        kept = self._comparisons.get(week) if self._comparisons is not None else None
        return kept if kept is not None else self.tally_comparison(week)

    def tally_week(self, week: IsoWeek) -> WeekTally:
        tally = WeekTally()
        for page in self._pages(week, attributes=WEEK_ATTRIBUTES):
            for item in page:
                add_week_item(tally, item)
        return tally

    def tally_comparison(self, week: IsoWeek) -> ComparisonTally:
        tally = ComparisonTally()
        for page in self._pages(week, attributes=COMPARISON_ATTRIBUTES):
            for item in page:
                add_comparison_item(tally, item)
        return tally

    def _pages(self, week: IsoWeek, *, attributes: tuple[str, ...]) -> Iterator[Sequence[Item]]:
        # Every name goes through a placeholder: status, query and timestamp are reserved words.
        names = {f"#a{number}": name for number, name in enumerate(attributes)}
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=self._index,
            KeyConditionExpression="#week = :week",
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames={"#week": "week", **names},
            ExpressionAttributeValues={":week": {"S": str(week)}},
        )
        for page in pages:
            yield page["Items"]


def _parsing_items_as_sent(client: DynamoDBClient) -> DynamoDBClient:
    # Registering under the same unique_id again is a no-op.
    client.meta.events.register(
        "before-parse.dynamodb.Query", items_as_sent, unique_id="cv-analytics-items-as-sent"
    )
    return client


class KeptComparisons:
    """Each week's comparison figures, kept on the week's item of the reports table.

    Only added to an item the send log already made (the week was claimed for a report):
    an item made here would look like a claim to the send log.
    """

    def __init__(self, *, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, week: IsoWeek) -> ComparisonFigures | None:
        """The figures kept for ``week``; None when none are, or they cannot be used."""
        item = self._client.get_item(
            TableName=self._table,
            Key={"week": {"S": str(week)}},
            ProjectionExpression="#figures",
            ExpressionAttributeNames={"#figures": COMPARISON_ATTRIBUTE},
            ConsistentRead=True,
        ).get("Item", {})
        text = item.get(COMPARISON_ATTRIBUTE, {}).get("S")
        if text is None:
            return None
        try:
            return ComparisonFigures.from_document(json.loads(text))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            log.warning("not using the comparison figures kept for %s (%s); reading the week", week, exc)
            return None

    def keep(self, week: IsoWeek, figures: ComparisonFigures) -> bool:
        """Keep ``figures`` on ``week``'s report item; False when there is none, they are too
        big or the write failed. Never raises for DynamoDB: the figures only save next week's
        report some reading, and must not cost this week's report."""
        text = json.dumps(figures.as_document(), ensure_ascii=False, separators=(",", ":"))
        if len(text.encode()) > MAX_KEPT_BYTES:
            log.warning("comparison figures of %s not kept: %d bytes", week, len(text.encode()))
            return False
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"week": {"S": str(week)}},
                UpdateExpression="SET #figures = :figures",
                ConditionExpression="attribute_exists(#week)",
                ExpressionAttributeNames={"#figures": COMPARISON_ATTRIBUTE, "#week": "week"},
                ExpressionAttributeValues={":figures": {"S": text}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                log.warning("comparison figures of %s not kept: %s", week, exc)
            return False
        except BotoCoreError as exc:
            log.warning("comparison figures of %s not kept: %s", week, exc)
            return False
        return True


def items_as_sent(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parse`` hook for Query: hand the items over as the JSON decoder reads them.

    botocore's parser walks every attribute value through the AttributeValue shape, which
    costs several times the report's own work. ``json.loads`` gives the same low-level values
    for every type except binary ones, which botocore base64-decodes, so a response holding
    one is left to botocore. botocore still parses the rest (keys, counts, capacity) and
    puts the items back from ``customized_response_dict``.
    """
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not body:
        return
    if any(marker in body for marker in _BINARY_MARKERS):
        return
    parsed = json.loads(body)
    if "Items" in parsed:
        customized_response_dict["Items"] = parsed.pop("Items")
        response_dict["body"] = json.dumps(parsed).encode()


def add_week_item(tally: WeekTally, item: Item) -> None:
    """Count one low-level item (projected to ``WEEK_ATTRIBUTES``) into ``tally``."""
    # Runs once per record of the week: plain look-ups, no generic decoding.
    get = item.get
    status, latency = _status_and_latency(item)
    query, match_type, sources = get("query"), get("matchType"), get("sourcesUsed")
    tally.add(
        status=status,
        session_id=_session(item),
        sources_used=_strings(sources) if sources else (),
        query=query.get("S") if query else None,
        match_type=match_type.get("S") if match_type else None,
        match_score=_integer(get("matchScore")),
        latency_ms=latency,
        query_timestamp=_integer(get("queryTimestamp")),
    )


def add_comparison_item(tally: ComparisonTally, item: Item) -> None:
    """Count one low-level item (projected to ``COMPARISON_ATTRIBUTES``) into ``tally``."""
    status, _ = _status_and_latency(item)
    sources = item.get("sourcesUsed")
    tally.add(status=status, session_id=_session(item), sources_used=_strings(sources) if sources else ())


def _status_and_latency(item: Item) -> tuple[Status, int | None]:
    """Derived from the timestamps present, as ``records.derive`` derives them."""
    asked, answered = _integer(item.get("queryTimestamp")), _integer(item.get("responseTimestamp"))
    if asked is None:
        if answered is None:
            raise ValueError("a record in the week index has neither a query nor a response timestamp")
        return Status.AWAITING_QUERY, None
    if answered is None:
        return Status.AWAITING_RESPONSE, None
    return Status.ANSWERED, answered - asked


def _session(item: Item) -> str | None:
    """The query's session, else the response's, as ``records.derive`` picks it."""
    for name in ("querySessionId", "responseSessionId"):
        value = item.get(name)
        if value is not None and value.get("S"):
            return str(value["S"])
    return None


def _integer(value: Mapping[str, Any] | None) -> int | None:
    if value is None or "N" not in value:
        return None
    text = value["N"]
    try:
        return int(text)
    except ValueError:  # "90.5" or "1E+2": DynamoDB numbers are decimals
        return int(Decimal(text))


def _strings(value: Mapping[str, Any] | None) -> tuple[str, ...]:
    """A list (L of S) or string set (SS) as a tuple; empty when absent."""
    if value is None:
        return ()
    if "SS" in value:
        return tuple(value["SS"])
    try:
        return tuple([element["S"] for element in value.get("L", ())])
    except KeyError:
        raise ValueError(f"expected a list of strings, got {value!r}") from None
