"""ISO-8601 week arithmetic in UTC (weeks run Monday 00:00 to Monday 00:00)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_WEEK_PATTERN = re.compile(r"(?P<year>[0-9]{4})-W(?P<week>[0-9]{2})")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        weeks_in_year = date(self.year, 12, 28).isocalendar().week
        if not 1 <= self.week <= weeks_in_year:
            raise ValueError(f"{self.year} has ISO weeks 1-{weeks_in_year}, not {self.week}")

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(f"not an ISO week (expected YYYY-Www, e.g. 2025-W47): {text!r}")
        return cls(int(match["year"]), int(match["week"]))

    @classmethod
    def of(cls, moment: datetime) -> IsoWeek:
        calendar = moment.astimezone(UTC).isocalendar()
        return cls(calendar.year, calendar.week)

    @classmethod
    def of_epoch_ms(cls, epoch_ms: int) -> IsoWeek:
        return cls.of(datetime.fromtimestamp(epoch_ms / 1000, tz=UTC))

    @classmethod
    def last_full_week_before(cls, moment: datetime) -> IsoWeek:
        """The most recent Monday-to-Sunday week that ended at or before ``moment``."""
        return cls.of(moment.astimezone(UTC) - timedelta(days=7))

    @property
    def start(self) -> datetime:
        monday = date.fromisocalendar(self.year, self.week, 1)
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end: the next Monday at 00:00 UTC."""
        return self.start + timedelta(days=7)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.start - timedelta(days=7))
