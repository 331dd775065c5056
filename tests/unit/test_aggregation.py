"""Weekly aggregation: the figures the report shows, computed from correlated records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cv_analytics.aggregation import (
    TOP_N,
    Change,
    ComparisonTally,
    Latency,
    MatchTypes,
    RankedText,
    SkillTrend,
    Totals,
    WeeklySummary,
    WeekTally,
    normalise,
    summarise_week,
    weekday_of,
)
from cv_analytics.records import ANONYMOUS_SESSION, AnalyticsRecord, Status
from cv_analytics.weeks import IsoWeek
from tests.helpers import make_record

WEEK = IsoWeek(2025, 47)
PREVIOUS_WEEK = WEEK.previous()


def _record(*, status: Status, week: IsoWeek = WEEK, **fields: object) -> AnalyticsRecord:
    return make_record(status=status, week=week, **fields)


def _answered(query: str = "Python?", **fields: object) -> AnalyticsRecord:
    fields.setdefault("match_type", "full")
    fields.setdefault("match_score", 90)
    return _record(status=Status.ANSWERED, query=query, **fields)


def _unanswered(query: str = "Python?", **fields: object) -> AnalyticsRecord:
    return _record(status=Status.AWAITING_RESPONSE, query=query, **fields)


def _orphan(**fields: object) -> AnalyticsRecord:
    fields.setdefault("match_type", "full")
    fields.setdefault("match_score", 90)
    return _record(status=Status.AWAITING_QUERY, **fields)


def _summary(records: Sequence[AnalyticsRecord], previous: Sequence[AnalyticsRecord] = ()) -> WeeklySummary:
    return summarise_week(week=WEEK, records=records, previous=previous)


def test_normalise_folds_case_and_collapses_whitespace() -> None:
    """Normalising trims, collapses inner whitespace and case-folds (ß folds to ss)."""
    assert normalise("  Do\tyou\n know  STRAßE? ") == "do you know strasse?"


def test_summarise_week_counts_query_variants_as_one() -> None:
    """Queries differing only in case and whitespace are counted together."""
    records = [
        _answered("Do you know   Python?"),
        _answered("  do you KNOW python? "),
        _unanswered("Do you know Python?"),
    ]

    assert _summary(records).top_queries == (
        RankedText(key="do you know python?", label="Do you know Python?", count=3),
    )


def test_summarise_week_labels_query_with_most_common_spelling() -> None:
    """A counted query is shown in its most frequent original spelling."""
    records = [_answered("rust?"), _answered("RUST?"), _answered("RUST?")]

    assert _summary(records).top_queries[0].label == "RUST?"


def test_summarise_week_empty_week_has_no_figures() -> None:
    """A week without records is empty, with zero counts and no rates or percentiles."""
    summary = _summary([])

    assert (
        summary.is_empty,
        summary.totals,
        summary.totals.answer_rate,
        summary.match_types,
        summary.average_match_score,
        summary.latency,
        summary.top_queries,
        summary.top_skills,
        summary.top_unanswered,
        summary.top_no_match,
    ) == (
        True,
        Totals(0, 0, 0, 0, 0),
        None,
        MatchTypes(0, 0, 0),
        None,
        Latency(None, None),
        (),
        (),
        (),
        (),
    )


def test_summarise_week_period_runs_monday_to_sunday() -> None:
    """The period is the ISO week's Monday through its Sunday, inclusive."""
    summary = _summary([])

    assert (summary.period_start, summary.period_end) == (date(2025, 11, 17), date(2025, 11, 23))


def _on_day(day: int, *, hour: int = 12) -> int:
    """Epoch ms of ``hour`` o'clock UTC on day ``day`` (Monday 0) of WEEK."""
    return int(WEEK.start.timestamp() * 1000) + (day * 24 + hour) * 3_600_000


def test_summarise_week_days_run_monday_to_sunday() -> None:
    """The per-day series has the seven dates of the week, even for an empty week."""
    days = _summary([]).days

    assert [figures.day for figures in days] == [date(2025, 11, 17 + offset) for offset in range(7)]
    assert all(figures.queries == 0 and figures.answer_rate is None for figures in days)


def test_summarise_week_days_count_queries_and_answers_on_their_day() -> None:
    """Each query counts on the UTC day of its timestamp; answers count on the query's day."""
    records = [
        replace(_answered(), timestamp=_on_day(0, hour=0)),
        replace(_unanswered(), timestamp=_on_day(0, hour=23)),
        replace(_answered(), timestamp=_on_day(6, hour=23)),
        replace(_orphan(), timestamp=_on_day(3)),
    ]

    days = _summary(records).days

    assert [figures.queries for figures in days] == [2, 0, 0, 0, 0, 0, 1]
    assert [figures.answered for figures in days] == [1, 0, 0, 0, 0, 0, 1]
    assert days[0].answer_rate == 0.5


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(0, 3), (86_400_000 - 1, 3), (86_400_000, 4), (1763942400000, 0), (1763942400000 - 1, 6)],
)
def test_weekday_of_counts_from_monday_in_utc(moment: int, expected: int) -> None:
    """weekday_of gives Monday 0 to Sunday 6 of the UTC day (1970-01-01 was a Thursday)."""
    assert weekday_of(moment) == expected


def test_summarise_week_orphan_responses_not_counted_as_queries() -> None:
    """Responses whose query never arrived are counted apart, not as queries or answers."""
    records = [_answered(), _orphan(), _orphan()]

    assert _summary(records).totals == Totals(
        queries=1, unique_sessions=0, answered=1, unanswered=0, orphan_responses=2
    )


def test_weekly_summary_total_queries_mirrors_totals() -> None:
    """The summary's total_queries shortcut is the totals' query count."""
    assert _summary([_answered(), _unanswered(), _orphan()]).total_queries == 2


def test_summarise_week_only_orphan_responses_is_empty() -> None:
    """A week with orphan responses but no queries counts as empty."""
    assert _summary([_orphan()]).is_empty is True


def test_summarise_week_unique_sessions_exclude_anonymous_and_missing() -> None:
    """Distinct sessions ignore the worker's 'anonymous' placeholder and missing ids."""
    records = [
        _answered(session_id="s1"),
        _answered(session_id="s1"),
        _unanswered(session_id="s2"),
        _answered(session_id=ANONYMOUS_SESSION),
        _answered(session_id=None),
    ]

    assert _summary(records).totals.unique_sessions == 2


def test_summarise_week_answer_rate_is_answered_share_of_queries() -> None:
    """Three answered out of four queries is a 0.75 answer rate."""
    records = [_answered(), _answered(), _answered(), _unanswered(), _orphan()]

    assert _summary(records).totals.answer_rate == 0.75


def test_summarise_week_match_types_count_answered_only() -> None:
    """The match type distribution ignores orphan responses."""
    records = [
        _answered(match_type="full"),
        _answered(match_type="full"),
        _answered(match_type="partial"),
        _answered(match_type="none"),
        _orphan(match_type="full"),
    ]

    assert _summary(records).match_types == MatchTypes(full=2, partial=1, none=1)


def test_summarise_week_average_match_score_over_answered() -> None:
    """The average score uses answered records only."""
    records = [_answered(match_score=90), _answered(match_score=61), _orphan(match_score=10)]

    assert _summary(records).average_match_score == 75.5


@pytest.mark.parametrize(
    ("latencies", "expected"),
    [
        pytest.param([300, 100, 200], Latency(p50=200, p95=300), id="odd"),
        pytest.param(list(range(200, 0, -10)), Latency(p50=100, p95=190), id="even"),
        pytest.param([250], Latency(p50=250, p95=250), id="single"),
    ],
)
def test_summarise_week_latency_nearest_rank(latencies: list[int], expected: Latency) -> None:
    """p50 and p95 are nearest-rank percentiles of the answered latencies."""
    records = [_answered(latency_ms=latency) for latency in latencies]

    assert _summary(records).latency == expected


def test_summarise_week_latency_skips_unknown_values() -> None:
    """Answered records without a latency do not count towards the percentiles."""
    records = [_answered(latency_ms=None), _answered(latency_ms=None), _answered(latency_ms=40)]

    assert _summary(records).latency == Latency(p50=40, p95=40)


def test_summarise_week_change_from_previous_week() -> None:
    """Four queries last week and five this week is +1, +25%."""
    previous = [_answered(week=PREVIOUS_WEEK) for _ in range(4)]
    change = _summary([_answered() for _ in range(5)], previous).changes.queries

    assert (change.previous, change.current, change.delta, change.percent) == (4, 5, 1, 25.0)


def test_summarise_week_change_with_previous_zero_has_no_percent() -> None:
    """Growth from a week with no queries has a delta but no percent change."""
    change = _summary([_answered(), _unanswered()]).changes.queries

    assert (change.previous, change.current, change.delta, change.percent) == (0, 2, 2, None)


def test_summarise_week_answer_rate_change() -> None:
    """An answer rate going from 0.5 to 0.75 is +0.25, a 50% relative rise."""
    previous = [_answered(week=PREVIOUS_WEEK), _unanswered(week=PREVIOUS_WEEK)]
    records = [_answered(), _answered(), _answered(), _unanswered()]
    change = _summary(records, previous).changes.answer_rate

    assert (change.delta, change.percent) == (0.25, 50.0)


def test_summarise_week_answer_rate_change_unknown_after_empty_week() -> None:
    """Last week had no answer rate, so its change is unknown rather than invented."""
    change = _summary([_answered()]).changes.answer_rate

    assert change == Change(previous=None, current=1.0)
    assert (change.delta, change.percent) == (None, None)


def test_summarise_week_skills_compared_with_previous_week() -> None:
    """Top skills carry this week's and last week's counts."""
    records = [
        _answered(sources_used=("Python", "Go")),
        _answered(sources_used=("Python",)),
        _answered(sources_used=("python",)),
    ]
    previous = [
        _answered(week=PREVIOUS_WEEK, sources_used=("Python",)),
        _answered(week=PREVIOUS_WEEK, sources_used=("Rust",)),
    ]

    assert _summary(records, previous).top_skills == (
        SkillTrend(skill="Python", count=3, previous_count=1),
        SkillTrend(skill="Go", count=1, previous_count=0),
    )


def test_skill_trend_change_is_count_minus_previous() -> None:
    """A skill used once this week and three times last week changed by -2."""
    assert SkillTrend(skill="Go", count=1, previous_count=3).change == -2


def test_summarise_week_counts_skill_once_per_record() -> None:
    """A skill listed twice by one answer counts once."""
    records = [_answered(sources_used=("Python", "python", "Python"))]

    assert _summary(records).top_skills == (SkillTrend(skill="Python", count=1, previous_count=0),)


def test_summarise_week_skills_ignore_orphan_responses() -> None:
    """Skills are counted over answered records, the same population as match types."""
    records = [_answered(sources_used=("Python",)), _orphan(sources_used=("Python", "Go"))]

    assert _summary(records).top_skills == (SkillTrend(skill="Python", count=1, previous_count=0),)


def test_summarise_week_ranks_by_count_then_alphabetically() -> None:
    """Higher counts come first; equal counts are ordered alphabetically, ignoring case."""
    records = [_answered("zebra"), _answered("zebra"), _answered("mango"), _answered("Apple")]

    assert [ranked.label for ranked in _summary(records).top_queries] == ["zebra", "Apple", "mango"]


def test_summarise_week_keeps_top_ten_queries() -> None:
    """Only the ten highest-ranked queries are kept."""
    records = [_answered(f"q{number:02d}") for number in range(12)]

    assert [ranked.label for ranked in _summary(records).top_queries] == [
        f"q{number:02d}" for number in range(10)
    ]


def test_summarise_week_top_unanswered_lists_queries_without_response() -> None:
    """Unanswered queries are those still awaiting a response, normalised and counted."""
    records = [_unanswered("Cobol?"), _unanswered("cobol? "), _unanswered("Fortran"), _answered()]

    assert _summary(records).top_unanswered == (
        RankedText(key="cobol?", label="Cobol?", count=2),
        RankedText(key="fortran", label="Fortran", count=1),
    )


def test_summarise_week_top_no_match_lists_answers_matching_nothing() -> None:
    """No-match queries are answered ones whose match type is 'none'."""
    records = [
        _answered("Haskell?", match_type="none"),
        _answered("Go?", match_type="partial"),
        _unanswered("Cobol?"),
    ]

    assert _summary(records).top_no_match == (RankedText(key="haskell?", label="Haskell?", count=1),)


def test_summarise_week_rejects_records_of_another_week() -> None:
    """Records from a different week raise instead of skewing the report."""
    with pytest.raises(ValueError, match="2025-W46"):
        _summary([_answered(), _answered(week=PREVIOUS_WEEK)])


def test_summarise_week_rejects_previous_records_not_of_previous_week() -> None:
    """Comparison records must come from the week before."""
    with pytest.raises(ValueError, match="2025-W47"):
        _summary([], previous=[_answered()])


_texts = st.sampled_from(
    ["Python?", "python? ", "  PYTHON?", "Go", "go", "Rust", "", "   ", "Straße", "STRASSE"]
)
_records = st.builds(
    lambda status, week, **fields: make_record(status=status, week=week, **fields),
    status=st.sampled_from(Status),
    week=st.sampled_from([WEEK, PREVIOUS_WEEK]),
    query=st.none() | _texts,
    session_id=st.none() | st.sampled_from([ANONYMOUS_SESSION, "s1", "s2", "s3"]),
    match_type=st.none() | st.sampled_from(["full", "partial", "none"]),
    match_score=st.none() | st.integers(0, 100),
    latency_ms=st.none() | st.integers(0, 5_000),
    sources_used=st.lists(_texts, max_size=4).map(tuple),
)


@given(records=st.lists(_records, max_size=60), data=st.data())
def test_week_tally_streamed_in_any_order_equals_summarise_week(records, data) -> None:
    """Tallies fed one record at a time, in any order, give summarise_week's summary."""
    current = [record for record in records if record.week == str(WEEK)]
    previous = [record for record in records if record.week == str(PREVIOUS_WEEK)]
    tally, last = WeekTally(), ComparisonTally()
    for record in data.draw(st.permutations(current)):
        tally.add_record(record)
    for record in data.draw(st.permutations(previous)):
        last.add_record(record)

    assert tally.summary(week=WEEK, previous=last) == _summary(current, previous)


@given(latencies=st.lists(st.integers(0, 50), min_size=1, max_size=300))
def test_summarise_week_latency_percentiles_are_exact_nearest_rank(latencies: list[int]) -> None:
    """p50/p95 are the values at ranks ceil(p% of n) of the sorted latencies, duplicates included."""
    ordered = sorted(latencies)
    expected = Latency(
        p50=ordered[max(-(-50 * len(ordered) // 100), 1) - 1],
        p95=ordered[max(-(-95 * len(ordered) // 100), 1) - 1],
    )

    assert _summary([_answered(latency_ms=latency) for latency in latencies]).latency == expected


@given(queries=st.lists(st.text(alphabet="abAB \t", max_size=4), max_size=80))
def test_summarise_week_top_queries_are_head_of_full_ranking(queries: list[str]) -> None:
    """The top queries are the first TOP_N of all normalised queries by count, ties alphabetical."""
    counts = Counter(normalise(query) for query in queries if normalise(query))
    expected = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:TOP_N]
    top = _summary([_answered(query) for query in queries]).top_queries

    assert [(ranked.key, ranked.count) for ranked in top] == expected
