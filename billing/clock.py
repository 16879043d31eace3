"""The injected clock. Billing never reads the wall clock: every operation takes ``now`` from here."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from billing.types import require_utc


class Clock(Protocol):
    def now(self) -> dt.datetime:  # timezone-aware UTC
        ...


class FrozenClock:
    """A clock that stands still until moved (scenario test clocks, tests). It never moves backwards."""

    def __init__(self, at: dt.datetime) -> None:
        self._now = require_utc(at, field="clock")

    def now(self) -> dt.datetime:
        return self._now

    def set(self, at: dt.datetime) -> None:
        at = require_utc(at, field="clock")
        if at < self._now:
            raise ValueError(f"the clock never moves backwards ({at.isoformat()} < {self._now.isoformat()})")
        self._now = at

    def advance(self, by: dt.timedelta) -> None:
        self.set(self._now + by)
