"""Rendering the weekly summary as an email: subject, HTML body and text body."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from cv_analytics.aggregation import summarise_week
from cv_analytics.records import AnalyticsRecord, Status
from cv_analytics.weeks import IsoWeek
from cv_reporter.rendering import EmailData, render_weekly_report
from tests.support.events import make_record

WEEK = IsoWeek(2025, 47)
EMPTY_WEEK_SENTENCE = "No chatbot queries were recorded this week"
BODIES = ("html", "text")


def _record(*, status: Status, week: IsoWeek = WEEK, **fields: object) -> AnalyticsRecord:
    return make_record(status=status, week=week, **fields)


def _render(
    records: Sequence[AnalyticsRecord],
    previous: Sequence[AnalyticsRecord] = (),
    *,
    week: IsoWeek = WEEK,
) -> EmailData:
    return render_weekly_report(summarise_week(week=week, records=records, previous=previous))


def _busy_week() -> EmailData:
    """Four queries (three answered) against one answered query last week."""
    records = [
        _record(
            status=Status.ANSWERED,
            query="Python?",
            match_type="full",
            match_score=90,
            latency_ms=100,
            sources_used=("Python",),
        ),
        _record(
            status=Status.ANSWERED,
            query="python?",
            match_type="partial",
            match_score=60,
            latency_ms=300,
            sources_used=("Python", "Django"),
        ),
        _record(
            status=Status.ANSWERED,
            query="Cobol?",
            match_type="none",
            match_score=30,
            latency_ms=200,
        ),
        _record(status=Status.AWAITING_RESPONSE, query="Fortran?"),
    ]
    previous = [
        _record(
            status=Status.ANSWERED,
            week=WEEK.previous(),
            query="Go?",
            match_type="full",
            match_score=80,
        ),
    ]
    return _render(records, previous)


def test_render_weekly_report_subject_names_the_week() -> None:
    """The subject is the original pipeline's, with the reported ISO week."""
    email = _render([], week=IsoWeek(2025, 3))

    assert email.subject == "CV Analytics Weekly Report - Week 2025-W03"


@pytest.mark.parametrize("body", BODIES)
def test_render_weekly_report_empty_week_says_so(body: str) -> None:
    """An empty week's body states that no queries were recorded."""
    assert EMPTY_WEEK_SENTENCE in getattr(_render([]), body)


@pytest.mark.parametrize("body", BODIES)
def test_render_weekly_report_busy_week_omits_empty_sentence(body: str) -> None:
    """A week with queries does not claim to be empty."""
    assert EMPTY_WEEK_SENTENCE not in getattr(_busy_week(), body)


@pytest.mark.parametrize(
    "figure",
    [
        "75.0%",  # answer rate
        "100.0%",  # last week's answer rate
        "\u25bc -25.0 pp",  # answer rate change
        "\u25b2 +3 (+300%)",  # query change
        "60.0",  # average match score
        "200 ms",  # latency p50
        "300 ms",  # latency p95
        "\u25b2 +2 (new)",  # Python, absent last week
        "Python?",  # top query, most common spelling
        "Fortran?",  # unanswered
        "Cobol?",  # no match
        "Django",  # skill
    ],
)
@pytest.mark.parametrize("body", BODIES)
def test_render_weekly_report_shows_figure(body: str, figure: str) -> None:
    """Each headline figure appears in both bodies."""
    assert figure in getattr(_busy_week(), body)


def test_render_weekly_report_escapes_query_in_html() -> None:
    """Visitor text is HTML-escaped in the HTML body."""
    email = _render([_record(status=Status.AWAITING_RESPONSE, query="<script>alert(1)</script>")])

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "<script" not in email.html


def test_render_weekly_report_keeps_query_raw_in_text() -> None:
    """Visitor text appears verbatim in the text body."""
    email = _render([_record(status=Status.AWAITING_RESPONSE, query="<script>alert(1)</script>")])

    assert "<script>alert(1)</script>" in email.text
