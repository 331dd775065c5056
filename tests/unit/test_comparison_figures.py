"""Comparison figures: what a week contributes to the next week's report, in a keepable form."""

from __future__ import annotations

import json

import pytest

from cv_analytics.aggregation import ComparisonFigures, ComparisonTally, Totals
from cv_analytics.records import Status


def _tally() -> ComparisonTally:
    tally = ComparisonTally()
    tally.add(status=Status.ANSWERED, session_id="s-1", sources_used=("Python", "AWS"))
    tally.add(status=Status.ANSWERED, session_id="s-2", sources_used=(" python",))
    tally.add(status=Status.AWAITING_RESPONSE, session_id="s-1")
    tally.add(status=Status.AWAITING_QUERY, session_id=None)
    return tally


def test_comparison_figures_match_the_tally():
    """A tally's figures give the same totals and skill counts as the tally."""
    tally = _tally()
    figures = tally.figures()
    assert figures.totals() == tally.totals()
    assert figures.skill_counts() == tally.skill_counts() == {"python": 2, "aws": 1}


def test_comparison_figures_document_round_trips_through_json():
    """Figures written as a JSON document read back equal."""
    figures = _tally().figures()
    assert ComparisonFigures.from_document(json.loads(json.dumps(figures.as_document()))) == figures


def test_comparison_figures_other_format_is_refused():
    """A document of another format is refused with ValueError."""
    document = _tally().figures().as_document() | {"format": ComparisonFigures.FORMAT + 1}
    with pytest.raises(ValueError, match="format"):
        ComparisonFigures.from_document(document)


@pytest.mark.parametrize(
    "change",
    [
        {"totals": {"queries": 1}},
        {"totals": "none"},
        {"skills": {"python": -1}},
        {"skills": {"python": "2"}},
        {"skills": None},
    ],
)
def test_comparison_figures_malformed_document_is_refused(change):
    """Missing totals, negative or non-integer counts: ValueError, never wrong figures."""
    document = _tally().figures().as_document() | change
    with pytest.raises(ValueError):
        ComparisonFigures.from_document(document)


def test_comparison_figures_totals_are_kept_exactly():
    """Every total survives the document, orphan responses included."""
    totals = Totals(queries=9, unique_sessions=4, answered=6, unanswered=3, orphan_responses=2)
    figures = ComparisonFigures(week_totals=totals, skills={})
    assert ComparisonFigures.from_document(figures.as_document()).totals() == totals
