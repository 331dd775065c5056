"""Weekly aggregation of correlated analytics records into a report summary.

Pure domain: the reporter reads the records, this module turns them into figures, and
rendering turns the figures into an email. Every ranking breaks ties alphabetically so the
same records always give the same report, whatever order the store returns them in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

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

    @property
    def change(self) -> int:
        return self.count - self.previous_count


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
    answered = [record for record in records if record.answered]
    totals = _totals(records)
    return WeeklySummary(
        week=week,
        period_start=week.start.date(),
        period_end=week.end.date() - timedelta(days=1),
        totals=totals,
        changes=_changes(previous=_totals(previous), current=totals),
        match_types=_match_types(answered),
        average_match_score=_average_match_score(answered),
        latency=_latency(answered),
        top_queries=_top_queries([r for r in records if r.has_query]),
        top_skills=_top_skills(records=answered, previous=[r for r in previous if r.answered]),
        top_unanswered=_top_queries([r for r in records if r.status is Status.AWAITING_RESPONSE]),
        top_no_match=_top_queries([r for r in answered if r.match_type == "none"]),
    )


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


def _totals(records: Sequence[AnalyticsRecord]) -> Totals:
    sessions = {record.session_id for record in records} - {None, ANONYMOUS_SESSION}
    statuses = Counter(record.status for record in records)
    return Totals(
        queries=sum(record.has_query for record in records),
        unique_sessions=len(sessions),
        answered=statuses[Status.ANSWERED],
        unanswered=statuses[Status.AWAITING_RESPONSE],
        orphan_responses=statuses[Status.AWAITING_QUERY],
    )


def _changes(*, previous: Totals, current: Totals) -> TotalsChange:
    return TotalsChange(
        queries=Change(previous.queries, current.queries),
        unique_sessions=Change(previous.unique_sessions, current.unique_sessions),
        answered=Change(previous.answered, current.answered),
        answer_rate=Change(previous.answer_rate, current.answer_rate),
    )


def _match_types(answered: Sequence[AnalyticsRecord]) -> MatchTypes:
    counts = Counter(record.match_type for record in answered)
    return MatchTypes(full=counts["full"], partial=counts["partial"], none=counts["none"])


def _average_match_score(answered: Sequence[AnalyticsRecord]) -> float | None:
    scores = [record.match_score for record in answered if record.match_score is not None]
    return sum(scores) / len(scores) if scores else None


def _latency(answered: Sequence[AnalyticsRecord]) -> Latency:
    values = sorted(record.latency_ms for record in answered if record.latency_ms is not None)
    return Latency(p50=_nearest_rank(values, pct=50), p95=_nearest_rank(values, pct=95))


def _nearest_rank(ordered: Sequence[int], *, pct: int) -> int | None:
    """The smallest value with at least ``pct`` percent of the data at or below it."""
    if not ordered:
        return None
    rank = -(-pct * len(ordered) // 100)  # ceiling in integers, free of float rounding
    return ordered[max(rank, 1) - 1]


def _top_queries(records: Iterable[AnalyticsRecord]) -> tuple[RankedText, ...]:
    return _rank(record.query for record in records if record.query)[:TOP_N]


def _top_skills(
    *, records: Sequence[AnalyticsRecord], previous: Sequence[AnalyticsRecord]
) -> tuple[SkillTrend, ...]:
    last_week = {ranked.key: ranked.count for ranked in _rank(_skills(previous))}
    return tuple(
        SkillTrend(skill=ranked.label, count=ranked.count, previous_count=last_week.get(ranked.key, 0))
        for ranked in _rank(_skills(records))[:TOP_N]
    )


def _skills(records: Iterable[AnalyticsRecord]) -> Iterable[str]:
    """Each skill once per record: a skill is counted by the answers that used it."""
    for record in records:
        yield from {normalise(skill): _collapse(skill) for skill in record.sources_used}.values()


def _rank(texts: Iterable[str]) -> tuple[RankedText, ...]:
    """Count texts under their normalised form, most frequent first, ties alphabetical."""
    spellings: dict[str, Counter[str]] = {}
    for text in texts:
        shown = _collapse(text)
        if shown:
            spellings.setdefault(normalise(shown), Counter())[shown] += 1
    ranked = [
        RankedText(key=key, label=_most_common(counts), count=counts.total())
        for key, counts in spellings.items()
    ]
    return tuple(sorted(ranked, key=lambda item: (-item.count, item.key)))


def _most_common(spellings: Counter[str]) -> str:
    return min(spellings, key=lambda spelling: (-spellings[spelling], spelling))
