"""Weekly aggregation of correlated analytics records into a report summary.

Pure domain: the reporter reads the records, this module turns them into figures, and
rendering turns the figures into an email. Every ranking breaks ties alphabetically so the
same records always give the same report, whatever order the store returns them in.

The figures are running tallies (``WeekTally``, ``ComparisonTally``), so a reader can feed
records one at a time and never hold the week: memory grows with the distinct queries,
sessions, skill lists and latency values, not with the number of records.
``summarise_week`` feeds the same tallies from lists, so both ways give the same summary.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any, ClassVar, Protocol

from cv_analytics.records import ANONYMOUS_SESSION, AnalyticsRecord, Status
from cv_analytics.weeks import IsoWeek

TOP_N = 10


@dataclass(frozen=True, slots=True)
class RankedText:
    """A normalised text (query or skill) with how often it occurred."""

    key: str
    """Case-folded, trimmed, internal whitespace collapsed: what is counted."""
    label: str
    """The most common original spelling (whitespace collapsed): what is shown."""
    count: int


@dataclass(frozen=True, slots=True)
class SkillTrend:
    skill: str
    count: int
    previous_count: int


@dataclass(frozen=True, slots=True)
class Change:
    """A figure this week against last week; None where a week has no value."""

    previous: float | None
    current: float | None

    @property
    def delta(self) -> float | None:
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def percent(self) -> float | None:
        """Relative change in percent; None when last week was 0 or unknown."""
        delta = self.delta
        if delta is None or not self.previous:
            return None
        return delta / self.previous * 100


@dataclass(frozen=True, slots=True)
class Totals:
    queries: int
    unique_sessions: int
    answered: int
    unanswered: int
    orphan_responses: int
    """Responses whose query never arrived: real traffic, but not counted as queries."""

    @property
    def answer_rate(self) -> float | None:
        """Answered share of queries (0-1); None when there were no queries."""
        return self.answered / self.queries if self.queries else None


@dataclass(frozen=True, slots=True)
class TotalsChange:
    queries: Change
    unique_sessions: Change
    answered: Change
    answer_rate: Change


@dataclass(frozen=True, slots=True)
class MatchTypes:
    full: int
    partial: int
    none: int


@dataclass(frozen=True, slots=True)
class Latency:
    """Nearest-rank percentiles in milliseconds; None without data."""

    p50: int | None
    p95: int | None


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One day (UTC) of the week: queries asked that day and how many were answered."""

    day: date
    queries: int
    answered: int

    @property
    def answer_rate(self) -> float | None:
        """Answered share of the day's queries (0-1); None when there were none."""
        return self.answered / self.queries if self.queries else None


@dataclass(frozen=True, slots=True)
class WeeklySummary:
    week: IsoWeek
    period_start: date
    period_end: date
    """Last day of the week (Sunday), inclusive."""
    totals: Totals
    changes: TotalsChange
    match_types: MatchTypes
    average_match_score: float | None
    latency: Latency
    top_queries: tuple[RankedText, ...]
    top_skills: tuple[SkillTrend, ...]
    top_unanswered: tuple[RankedText, ...]
    top_no_match: tuple[RankedText, ...]
    days: tuple[DayFigures, ...] = ()
    """Monday to Sunday, seven entries; queries are dated by the query's own timestamp."""

    @property
    def total_queries(self) -> int:
        return self.totals.queries

    @property
    def is_empty(self) -> bool:
        return self.total_queries == 0


def summarise_week(
    *,
    week: IsoWeek,
    records: Sequence[AnalyticsRecord],
    previous: Sequence[AnalyticsRecord],
) -> WeeklySummary:
    """Summarise ``week`` from its records; ``previous`` are the week before's records."""
    _check_week(records, week=week)
    _check_week(previous, week=week.previous())
    current, last = WeekTally(), ComparisonTally()
    for record in records:
        current.add_record(record)
    for record in previous:
        last.add_record(record)
    return current.summary(week=week, previous=last)


def normalise(text: str) -> str:
    """The form a query or skill is counted under: case-folded, whitespace collapsed."""
    return _collapse(text).casefold()


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _check_week(records: Iterable[AnalyticsRecord], *, week: IsoWeek) -> None:
    # A report silently mixing weeks would be wrong without anyone noticing.
    strays = sorted({record.week for record in records} - {str(week)})
    if strays:
        raise ValueError(f"records for {week} include other weeks: {', '.join(strays)}")


class Comparison(Protocol):
    """What last week contributes to a report: its totals and its skill counts."""

    def totals(self) -> Totals: ...
    def skill_counts(self) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class ComparisonFigures:
    """A week's ``Comparison`` as plain figures, small enough to keep with the week's report.

    ``as_document`` and ``from_document`` give it a JSON-ready form; ``FORMAT`` changes
    whenever what the figures mean changes (normalisation, counting rules), and a kept
    document of another format is refused, so the reader counts the week again.
    """

    FORMAT: ClassVar[int] = 1

    week_totals: Totals
    skills: Mapping[str, int]

    def totals(self) -> Totals:
        return self.week_totals

    def skill_counts(self) -> dict[str, int]:
        return dict(self.skills)

    def as_document(self) -> dict[str, Any]:
        return {"format": self.FORMAT, "totals": asdict(self.week_totals), "skills": dict(self.skills)}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ComparisonFigures:
        """The figures kept as ``as_document`` wrote them; ValueError for any other shape."""
        if (kept := document.get("format")) != cls.FORMAT:
            raise ValueError(f"kept comparison figures have format {kept!r}, not {cls.FORMAT}")
        try:
            totals = Totals(**{name: _count(value) for name, value in document["totals"].items()})
            skills = {str(key): _count(value) for key, value in document["skills"].items()}
        except (AttributeError, KeyError, TypeError) as exc:
            raise ValueError(f"kept comparison figures are malformed: {exc!r}") from exc
        return cls(week_totals=totals, skills=skills)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a kept count must be a non-negative integer, not {value!r}")
    return value


class ComparisonTally:
    """What last week contributes to a report: its totals and how often each skill was used.

    Texts are counted as stored and normalised once per distinct text in the end, which
    gives the same counts as normalising every record, for a fraction of the work.
    """

    __slots__ = ("_answered", "_orphans", "_sessions", "_skill_lists", "_unanswered")

    def __init__(self) -> None:
        self._answered = 0
        self._unanswered = 0
        self._orphans = 0
        self._sessions: set[str | None] = set()
        self._skill_lists: Counter[tuple[str, ...]] = Counter()

    def add(self, *, status: Status, session_id: str | None, sources_used: tuple[str, ...] = ()) -> None:
        """Count one record; ``sources_used`` only matters for answered records."""
        self._sessions.add(session_id)
        if status is Status.ANSWERED:
            self._answered += 1
            if sources_used:
                self._skill_lists[sources_used] += 1
        elif status is Status.AWAITING_RESPONSE:
            self._unanswered += 1
        else:
            self._orphans += 1

    def add_record(self, record: AnalyticsRecord) -> None:
        self.add(status=record.status, session_id=record.session_id, sources_used=record.sources_used)

    def totals(self) -> Totals:
        return Totals(
            queries=self._answered + self._unanswered,
            unique_sessions=len(self._sessions - {None, ANONYMOUS_SESSION}),
            answered=self._answered,
            unanswered=self._unanswered,
            orphan_responses=self._orphans,
        )

    def skill_counts(self) -> dict[str, int]:
        """Answered records per skill, keyed by the skill's normalised form."""
        return {key: sum(spelled.values()) for key, spelled in _spellings(self._skills()).items()}

    def figures(self) -> ComparisonFigures:
        """What this week will contribute to next week's comparison, as plain figures."""
        return ComparisonFigures(week_totals=self.totals(), skills=self.skill_counts())

    def _skills(self) -> Counter[str]:
        """Answered records per skill spelling (whitespace collapsed)."""
        shown: Counter[str] = Counter()
        for skills, records in self._skill_lists.items():
            # Each skill once per record: a skill is counted by the answers that used it.
            for skill in {normalise(skill): _collapse(skill) for skill in skills}.values():
                shown[skill] += records
        return shown


class WeekTally(ComparisonTally):
    """Everything the report shows about its own week, counted one record at a time."""

    __slots__ = (
        "_day_answered",
        "_day_queries",
        "_latencies",
        "_match_types",
        "_no_match",
        "_queries",
        "_score_count",
        "_score_sum",
        "_unanswered_queries",
    )

    def __init__(self) -> None:
        super().__init__()
        self._queries: Counter[str] = Counter()
        self._unanswered_queries: Counter[str] = Counter()
        self._no_match: Counter[str] = Counter()
        self._match_types: Counter[str | None] = Counter()
        self._score_sum = 0
        self._score_count = 0
        # Exact nearest-rank percentiles need every value, but only once per distinct value.
        self._latencies: Counter[int] = Counter()
        self._day_queries = [0] * 7
        self._day_answered = [0] * 7

    def add(
        self,
        *,
        status: Status,
        session_id: str | None,
        sources_used: tuple[str, ...] = (),
        query: str | None = None,
        match_type: str | None = None,
        match_score: int | None = None,
        latency_ms: int | None = None,
        query_timestamp: int | None = None,
    ) -> None:
        """Count one record; the answer's fields only matter for answered records.

        ``query_timestamp`` (epoch ms) places the query on its day of the week."""
        # Runs once per record of the week: kept flat rather than calling the parent's add.
        self._sessions.add(session_id)
        if status is Status.AWAITING_QUERY:
            self._orphans += 1
            return
        if query:
            self._queries[query] += 1
        day = None if query_timestamp is None else weekday_of(query_timestamp)
        if day is not None:
            self._day_queries[day] += 1
        if status is Status.AWAITING_RESPONSE:
            self._unanswered += 1
            if query:
                self._unanswered_queries[query] += 1
            return
        self._answered += 1
        if day is not None:
            self._day_answered[day] += 1
        if sources_used:
            self._skill_lists[sources_used] += 1
        self._match_types[match_type] += 1
        if match_type == "none" and query:
            self._no_match[query] += 1
        if match_score is not None:
            self._score_sum += match_score
            self._score_count += 1
        if latency_ms is not None:
            self._latencies[latency_ms] += 1

    def add_record(self, record: AnalyticsRecord) -> None:
        self.add(
            status=record.status,
            session_id=record.session_id,
            sources_used=record.sources_used,
            query=record.query,
            match_type=record.match_type,
            match_score=record.match_score,
            latency_ms=record.latency_ms,
            query_timestamp=record.timestamp,
        )

    def summary(self, *, week: IsoWeek, previous: Comparison) -> WeeklySummary:
        """The week's summary, compared with ``previous`` (the week before's tally)."""
        totals = self.totals()
        return WeeklySummary(
            week=week,
            period_start=week.start.date(),
            period_end=week.end.date() - timedelta(days=1),
            totals=totals,
            changes=_changes(previous=previous.totals(), current=totals),
            match_types=MatchTypes(
                full=self._match_types["full"],
                partial=self._match_types["partial"],
                none=self._match_types["none"],
            ),
            average_match_score=self._score_sum / self._score_count if self._score_count else None,
            latency=_latency(self._latencies),
            top_queries=_rank(self._queries),
            top_skills=self._top_skills(previous.skill_counts()),
            top_unanswered=_rank(self._unanswered_queries),
            top_no_match=_rank(self._no_match),
            days=self._days(week),
        )

    def _days(self, week: IsoWeek) -> tuple[DayFigures, ...]:
        monday = week.start.date()
        return tuple(
            DayFigures(day=monday + timedelta(days=day), queries=queries, answered=self._day_answered[day])
            for day, queries in enumerate(self._day_queries)
        )

    def _top_skills(self, last_week: Mapping[str, int]) -> tuple[SkillTrend, ...]:
        return tuple(
            SkillTrend(skill=ranked.label, count=ranked.count, previous_count=last_week.get(ranked.key, 0))
            for ranked in _rank(self._skills())
        )


_DAY_MS = 86_400_000


def weekday_of(epoch_ms: int) -> int:
    """The UTC day of the week of an epoch-millisecond time, Monday 0 to Sunday 6."""
    # 1970-01-01 was a Thursday (3); plain integers, as this runs once per record.
    return (epoch_ms // _DAY_MS + 3) % 7


def _changes(*, previous: Totals, current: Totals) -> TotalsChange:
    return TotalsChange(
        queries=Change(previous.queries, current.queries),
        unique_sessions=Change(previous.unique_sessions, current.unique_sessions),
        answered=Change(previous.answered, current.answered),
        answer_rate=Change(previous.answer_rate, current.answer_rate),
    )


def _latency(counts: Mapping[int, int]) -> Latency:
    return Latency(p50=_nearest_rank(counts, pct=50), p95=_nearest_rank(counts, pct=95))


def _nearest_rank(counts: Mapping[int, int], *, pct: int) -> int | None:
    """The smallest value with at least ``pct`` percent of the data at or below it."""
    values = sorted(counts)
    at_or_below = list(accumulate(counts[value] for value in values))
    if not at_or_below:
        return None
    rank = -(-pct * at_or_below[-1] // 100)  # ceiling in integers, free of float rounding
    return values[bisect_left(at_or_below, max(rank, 1))]


def _rank(counts: Mapping[str, int]) -> tuple[RankedText, ...]:
    """The ``TOP_N`` most frequent texts under their normalised form, ties alphabetical."""
    spellings = _spellings(counts)
    totals = {key: sum(spelled.values()) for key, spelled in spellings.items()}
    # Keys are unique, so this is the head of the full ordering, without sorting it all.
    best = heapq.nsmallest(TOP_N, totals, key=lambda key: (-totals[key], key))
    return tuple(RankedText(key=key, label=_most_common(spellings[key]), count=totals[key]) for key in best)


def _spellings(counts: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Counts grouped by normalised form, then by spelling (whitespace collapsed)."""
    spellings: dict[str, dict[str, int]] = {}
    for text, count in counts.items():
        shown = _collapse(text)
        if shown:
            spelled = spellings.setdefault(normalise(shown), {})
            spelled[shown] = spelled.get(shown, 0) + count
    return spellings


def _most_common(spellings: Mapping[str, int]) -> str:
    return min(spellings, key=lambda spelling: (-spellings[spelling], spelling))
