"""ISO-8601 weeks in UTC: parsing, year boundaries, and which week a report covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cv_analytics.weeks import IsoWeek


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- parse and format -------------------------------------------------------------------------


def test_iso_week_parse_reads_year_and_week():
    """'2025-W47' parses into year 2025, week 47."""
    assert IsoWeek.parse("2025-W47") == IsoWeek(2025, 47)


def test_iso_week_str_zero_pads_week():
    """A single-digit week is written with two digits, as the week index stores it."""
    assert str(IsoWeek(2026, 1)) == "2026-W01"


def test_iso_week_parse_then_format_round_trips():
    """Formatting a parsed week gives back the same text."""
    assert str(IsoWeek.parse("2025-W47")) == "2025-W47"


@pytest.mark.parametrize(
    "text",
    ["2025-47", "2025W47", "2025-w47", "2025-W7", "2025-W047", "25-W47", " 2025-W47", "", "W47"],
)
def test_iso_week_parse_malformed_rejected(text):
    """Anything but YYYY-Www is rejected with the expected format in the message."""
    with pytest.raises(ValueError, match="expected YYYY-Www"):
        IsoWeek.parse(text)


def test_iso_week_parse_trailing_newline_rejected():
    """'2025-W47\\n' is not an ISO week string."""
    with pytest.raises(ValueError):
        IsoWeek.parse("2025-W47\n")


@pytest.mark.parametrize("text", ["2025-W00", "2025-W54", "2025-W99"])
def test_iso_week_parse_week_out_of_range_rejected(text):
    """Week numbers outside the year's 1-52/53 are rejected."""
    with pytest.raises(ValueError, match="2025 has ISO weeks 1-52"):
        IsoWeek.parse(text)


@pytest.mark.parametrize("year", [2020, 2026])
def test_iso_week_53_valid_in_long_year(year):
    """Week 53 exists in a 53-week year."""
    assert str(IsoWeek.parse(f"{year}-W53")) == f"{year}-W53"


def test_iso_week_53_invalid_in_short_year():
    """2025 has 52 ISO weeks, so 2025-W53 is rejected."""
    with pytest.raises(ValueError, match="2025 has ISO weeks 1-52, not 53"):
        IsoWeek(2025, 53)


def test_iso_week_orders_chronologically():
    """Weeks sort by year, then week."""
    weeks = [IsoWeek(2026, 1), IsoWeek(2025, 47), IsoWeek(2025, 52)]

    assert sorted(weeks) == [IsoWeek(2025, 47), IsoWeek(2025, 52), IsoWeek(2026, 1)]


# --- which week a moment falls in -------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "week"),
    [
        (_utc(2024, 12, 30), "2025-W01"),
        (_utc(2021, 1, 3, 23, 59, 59), "2020-W53"),
        (_utc(2027, 1, 1, 12), "2026-W53"),
        (_utc(2025, 11, 17), "2025-W47"),
        (_utc(2025, 11, 23, 23, 59, 59, 999999), "2025-W47"),
    ],
    ids=["2024-12-30", "2021-01-03", "2027-01-01", "monday-start", "sunday-last-microsecond"],
)
def test_iso_week_of_utc_moment(moment, week):
    """A UTC moment belongs to the ISO week of its UTC calendar date."""
    assert str(IsoWeek.of(moment)) == week


def test_iso_week_of_converts_other_offsets_to_utc():
    """Monday 01:00 at UTC+02:00 is still Sunday in UTC, so it belongs to the earlier week."""
    moment = datetime(2025, 11, 24, 1, 0, tzinfo=timezone(timedelta(hours=2)))

    assert IsoWeek.of(moment) == IsoWeek(2025, 47)


def test_iso_week_of_epoch_ms_uses_utc():
    """1763942399999 ms (Sunday 2025-11-23 23:59:59.999 UTC) is in 2025-W47; one ms later W48."""
    assert (IsoWeek.of_epoch_ms(1763942399999), IsoWeek.of_epoch_ms(1763942400000)) == (
        IsoWeek(2025, 47),
        IsoWeek(2025, 48),
    )


# --- start and end ----------------------------------------------------------------------------


def test_iso_week_start_is_monday_midnight_utc():
    """2025-W47 starts on Monday 2025-11-17 at 00:00 UTC."""
    assert IsoWeek(2025, 47).start == _utc(2025, 11, 17)


def test_iso_week_end_is_next_monday_midnight_utc():
    """2025-W47 ends (exclusive) on Monday 2025-11-24 at 00:00 UTC."""
    assert IsoWeek(2025, 47).end == _utc(2025, 11, 24)


def test_iso_week_start_in_previous_calendar_year():
    """2025-W01 starts on Monday 2024-12-30."""
    assert IsoWeek(2025, 1).start == _utc(2024, 12, 30)


def test_iso_week_end_in_next_calendar_year():
    """2026-W53 ends on Monday 2027-01-04."""
    assert IsoWeek(2026, 53).end == _utc(2027, 1, 4)


# --- previous ---------------------------------------------------------------------------------


def test_iso_week_previous_within_year():
    """The week before 2025-W47 is 2025-W46."""
    assert IsoWeek(2025, 47).previous() == IsoWeek(2025, 46)


def test_iso_week_previous_into_52_week_year():
    """The week before 2026-W01 is 2025-W52."""
    assert IsoWeek(2026, 1).previous() == IsoWeek(2025, 52)


def test_iso_week_previous_into_53_week_year():
    """The week before 2021-W01 is 2020-W53."""
    assert IsoWeek(2021, 1).previous() == IsoWeek(2020, 53)


# --- the week a report covers -----------------------------------------------------------------


def test_last_full_week_before_monday_report_time():
    """At the scheduled Monday 07:00 UTC the report covers the week that just ended."""
    assert IsoWeek.last_full_week_before(_utc(2025, 11, 24, 7)) == IsoWeek(2025, 47)


def test_last_full_week_before_sunday_night():
    """On Sunday 23:59 the current week has not ended, so the week before it is reported."""
    assert IsoWeek.last_full_week_before(_utc(2025, 11, 23, 23, 59)) == IsoWeek(2025, 46)


def test_last_full_week_before_monday_midnight_exactly():
    """At Monday 00:00 exactly the week ending at that instant counts as full."""
    assert IsoWeek.last_full_week_before(_utc(2025, 11, 24)) == IsoWeek(2025, 47)


def test_last_full_week_before_across_year_boundary():
    """The report run on Monday 2021-01-04 covers 2020-W53."""
    assert IsoWeek.last_full_week_before(_utc(2021, 1, 4, 7)) == IsoWeek(2020, 53)


def test_last_full_week_before_fixed_offset_converted():
    """Monday 09:00 at UTC+02:00 is Monday 07:00 UTC, so 2025-W47 is reported."""
    moment = datetime(2025, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=2)))

    assert IsoWeek.last_full_week_before(moment) == IsoWeek(2025, 47)


def test_last_full_week_before_fixed_offset_still_sunday_in_utc():
    """Monday 01:00 at UTC+02:00 is Sunday 23:00 UTC: 2025-W47 has not ended yet."""
    moment = datetime(2025, 11, 24, 1, 0, tzinfo=timezone(timedelta(hours=2)))

    assert IsoWeek.last_full_week_before(moment) == IsoWeek(2025, 46)


def test_last_full_week_before_zone_with_dst_change():
    """Sunday 19:30 New York time after the DST change is Monday 00:30 UTC: W44 is reported."""
    moment = datetime(2025, 11, 2, 19, 30, tzinfo=ZoneInfo("America/New_York"))

    assert IsoWeek.last_full_week_before(moment) == IsoWeek(2025, 44)
