"""The product's clock: the one place that reads the wall clock.

Everything that asks "what time is it" or "which day is it" receives a :class:`Clock` from the
container, so tests and demos can set the date (a covenant that is valid "now", a meeting that is
"upcoming", a person who turned 18 "today") without waiting for the calendar.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

#: Covenants are signed in Dutch dates, meetings are held on Dutch days: "today" is the day in
#: the Netherlands, which differs from the UTC date for one or two hours every night.
DUTCH_ZONE = ZoneInfo("Europe/Amsterdam")


class ClockError(ValueError):
    """A clock setting that names no moment."""


class Clock(Protocol):
    def now(self) -> datetime:
        """This moment, timezone-aware in UTC."""
        ...

    def today(self) -> date:
        """The Dutch calendar day of this moment."""
        ...


def dutch_day(moment: datetime) -> date:
    return moment.astimezone(DUTCH_ZONE).date()


@dataclass(frozen=True)
class SystemClock:
    """The wall clock: what production runs on."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return dutch_day(self.now())


@dataclass
class ShiftedClock:
    """The wall clock moved to another start: it runs at real speed from ``start``.

    For demos and end-to-end tests that must see a given day while tokens still expire.
    """

    start: datetime
    _started: float = field(default_factory=time.monotonic, init=False)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._started)

    def today(self) -> date:
        return dutch_day(self.now())


class ManualClock:
    """A clock that stands still until told to move: tests set and advance it."""

    def __init__(self, moment: datetime) -> None:
        self._lock = threading.Lock()
        self._moment = _aware(moment)

    def now(self) -> datetime:
        with self._lock:
            return self._moment

    def today(self) -> date:
        return dutch_day(self.now())

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._moment = _aware(moment)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._moment += delta


SYSTEM_CLOCK = SystemClock()


class RecordStamps:
    """Times for new records: ``clock``'s, made strictly increasing within this process.

    A clock that stands still (a test's) or steps back (an NTP correction) would give two records
    the same or a reversed time, and "the oldest subject" or "the first progress report" would
    depend on chance; a stamp one microsecond past the previous one keeps the order they were
    written in.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def stamp(self) -> datetime:
        moment = self.clock.now()
        with self._lock:
            if self._last is not None and moment <= self._last:
                moment = self._last + timedelta(microseconds=1)
            self._last = moment
        return moment


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment; a bare date means 09:00 on that Dutch day (office hours)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 9, tzinfo=DUTCH_ZONE).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ClockError(f"{text!r} is not an ISO 8601 date or date-time") from exc
    if moment.tzinfo is None:
        raise ClockError(f"{text!r} needs a timezone offset (e.g. Z or +01:00)")
    return moment.astimezone(UTC)


def clock_starting_at(start: str) -> Clock:
    """The clock for a ``clock_start`` setting: empty means the wall clock."""
    return SYSTEM_CLOCK if not start else ShiftedClock(parse_moment(start))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ClockError("a clock needs a timezone-aware moment")
    return moment.astimezone(UTC)
