"""The half-open service period ``[start, end)`` of lines, groups and charges."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from billing.types import UtcDatetime, truncate_to_second


class Period(BaseModel):
    """``[start, end)``; empty when ``end <= start``.

    An inverted period (``end < start``) can be *read* from old rows so that the loader can report it
    (reconciler D-14); billing operations refuse to *write* one (see ``require_valid``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: UtcDatetime
    end: UtcDatetime

    @property
    def is_empty(self) -> bool:
        return self.end <= self.start

    @property
    def is_inverted(self) -> bool:
        return self.end < self.start

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start

    def contains(self, instant: dt.datetime) -> bool:
        return self.start <= instant < self.end

    def truncated(self) -> "Period":
        return Period(start=truncate_to_second(self.start), end=truncate_to_second(self.end))

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"
