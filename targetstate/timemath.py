"""Time primitives of the target state (targetstate spec §2.1, §2.2, §2.4, §4.1).

- ``truncate`` floors an instant to the whole second.
- ``Period`` is a frozen half-open ``[start, end)``; its validating constructor rejects ``end < start``.
- ``Recurrence`` / ``period_at`` find the recurrence period that contains an instant. Every boundary is
  ``add(anchor, n × d)`` computed in one step from the anchor (``multiply(cadence, n).add_to(anchor)``,
  i.e. ``(cadence * n).add_to(anchor)``), never by adding the cadence repeatedly; a recurrence
  memoises the boundaries it has computed.
- ``arithmetic`` turns ``OverflowError`` / ``ValueError`` of date arithmetic into ``TimeArithmeticError``.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator

from subscriptions.duration import Duration
from targetstate.errors import TargetStateError, TimeArithmeticError
from targetstate.trusted import trusted_constructor

UTC = dt.timezone.utc
#: The latest representable instant. Compare against it, never add a duration to it (§2.4).
INFINITY = dt.datetime.max.replace(tzinfo=UTC)
#: ``period_at`` refuses instants more than this many periods away from the anchor (§4.1).
MAX_PERIODS_FROM_ANCHOR = 1_000_000
ONE_SECOND = dt.timedelta(seconds=1)
_MICROSECOND = dt.timedelta(microseconds=1)
#: Bound on the correction steps after estimating ``n``; calendar drift never needs more than a few.
_MAX_CORRECTIONS = 16


def truncate(t: dt.datetime) -> dt.datetime:
    """Floor ``t`` to the whole second (§2.1)."""
    return t if t.microsecond == 0 else t.replace(microsecond=0)


def earlier_end(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    """``min(a, b)`` where ``None`` is an open end (+∞)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a <= b else b


def require_utc(value: object, field: str) -> dt.datetime:
    """An aware instant converted to UTC; naive or non-datetime values are rejected naming ``field``."""
    if not isinstance(value, dt.datetime):
        raise TargetStateError(f"{field} must be a timezone-aware datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TargetStateError(f"{field} must be timezone-aware (UTC), got the naive {value.isoformat()}")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class Period(BaseModel):
    """A half-open period ``[start, end)``; ``start == end`` is an instant.

    Built from input, a period must not end before it starts. ``Period.unchecked`` skips that check
    for the one inverted pair the builder meets: the horizon's billing period far past the subscription
    end (§2.5, §4.2), of which only the end is read.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError(f"period ends before it starts ({self.end.isoformat()} < {self.start.isoformat()})")
        return self

    @classmethod
    def unchecked(cls, start: dt.datetime, end: dt.datetime) -> "Period":
        """A period from trusted UTC instants, without validation (it may be inverted).

        The builder's hot path uses it for instants it computed itself from validated input.
        """
        return _construct_period(start=start, end=end)

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start

    @property
    def seconds(self) -> int:
        """Length in whole seconds (exact for truncated periods)."""
        return duration_seconds(self)

    @property
    def is_empty(self) -> bool:
        """True when ``end − start ≤ 0`` (§1)."""
        return self.end <= self.start

    def contains(self, t: dt.datetime) -> bool:
        return self.start <= t < self.end

    def truncated(self) -> "Period":
        return Period(start=truncate(self.start), end=truncate(self.end))

    def __str__(self) -> str:
        return f"[{_iso(self.start)}, {_iso(self.end)})"


_construct_period = trusted_constructor(Period)


def duration_seconds(period: Period) -> int:
    """The length of a period in whole seconds, at the one-second resolution of target items.

    Both ends are truncated first, so the result is exact for target-item periods (which are already
    truncated) and never negative for a non-inverted period.
    """
    delta = truncate(period.end) - truncate(period.start)
    return delta.days * 86_400 + delta.seconds


def _iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


_construct_duration = trusted_constructor(Duration)


def multiply(d: Duration, n: int) -> Duration:
    """``d * n`` — every component multiplied by ``n`` (§2.2) — built without re-validation: the
    product of a valid duration and an integer keeps one sign and microsecond precision."""
    return _construct_duration(
        years=d.years * n,
        months=d.months * n,
        weeks=d.weeks * n,
        days=d.days * n,
        hours=d.hours * n,
        minutes=d.minutes * n,
        seconds=d.seconds * n,
    )


@contextmanager
def arithmetic(what: str) -> Iterator[None]:
    """Convert date-arithmetic failures (``OverflowError``, out-of-range ``ValueError``) into a
    ``TimeArithmeticError`` that says what was being computed (§2.4)."""
    try:
        yield
    except TargetStateError:
        raise
    except (OverflowError, ValueError) as exc:
        raise TimeArithmeticError(f"{what}: date out of range ({exc})") from exc


class Recurrence:
    """The recurrence ``add(anchor, n × d)``, n ∈ ℤ, with memoised boundaries.

    Not a model: a per-build calculator. It holds no clock and no global state; two recurrences with
    the same anchor and cadence compute identical boundaries.
    """

    __slots__ = ("anchor", "cadence", "_boundaries", "_step_us", "_nominal_us", "_last", "_at")

    def __init__(self, anchor: dt.datetime | None, cadence: Duration | None) -> None:
        if anchor is None:
            raise TimeArithmeticError("a recurrence needs an anchor")
        if cadence is None or not cadence.is_positive:
            raise TimeArithmeticError(f"a recurrence needs a positive cadence, got {cadence}")
        self.anchor = anchor
        self.cadence = cadence
        self._boundaries: dict[int, dt.datetime] = {0: anchor}
        fixed_us = int(cadence.fixed_seconds * 1_000_000)
        #: Exact step in µs for cadences without years or months; None for calendar cadences.
        self._step_us: int | None = fixed_us if cadence.total_months == 0 else None
        self._nominal_us = int(cadence.nominal_seconds() * 1_000_000)
        #: The index of the last period located: consecutive queries usually hit it or the next one.
        self._last = 0
        #: Located periods by query instant.
        self._at: dict[dt.datetime, tuple[dt.datetime, dt.datetime]] = {}

    def boundary(self, n: int) -> dt.datetime:
        """``add(anchor, n × d)``, computed in one step from the anchor."""
        found = self._boundaries.get(n)
        if found is None:
            if abs(n) > MAX_PERIODS_FROM_ANCHOR + 1:
                raise TimeArithmeticError(self._too_far(n))
            try:
                found = multiply(self.cadence, n).add_to(self.anchor)
            except (OverflowError, ValueError) as exc:
                raise TimeArithmeticError(
                    f"boundary {n} of the {self.cadence} recurrence anchored at {_iso(self.anchor)} "
                    f"is out of range ({exc})"
                ) from exc
            self._boundaries[n] = found
        return found

    def index_at(self, t: dt.datetime) -> int:
        """The largest ``n`` with ``boundary(n) ≤ t`` (§4.1): estimated from the nominal length, then
        corrected by comparing candidate boundaries, each computed from the anchor."""
        offset_us = (t - self.anchor) // _MICROSECOND
        n = offset_us // (self._step_us or self._nominal_us)
        if abs(n) > MAX_PERIODS_FROM_ANCHOR + _MAX_CORRECTIONS:
            raise TimeArithmeticError(self._too_far(n))
        for _ in range(_MAX_CORRECTIONS):
            if self.boundary(n) > t:
                n -= 1
            elif self.boundary(n + 1) <= t:
                n += 1
            else:
                break
        else:  # pragma: no cover - the nominal estimate is never that far off
            raise TimeArithmeticError(f"cannot locate {_iso(t)} in the {self.cadence} recurrence")
        if abs(n) > MAX_PERIODS_FROM_ANCHOR:
            raise TimeArithmeticError(self._too_far(n))
        return n

    def bounds_at(self, t: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """``(start, end)`` of the recurrence period containing ``t``.

        Looks up instants already located, then tries the last located period and its successor
        (memoised boundaries only) before the estimate-and-correct search of ``index_at``.
        """
        found = self._at.get(t)
        if found is None:
            found = self._at[t] = self._locate(t)
        return found

    def _locate(self, t: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        boundaries = self._boundaries
        n = self._last
        start, end = boundaries.get(n), boundaries.get(n + 1)
        if start is not None and end is not None:
            if start <= t < end:
                return start, end
            following = boundaries.get(n + 2)
            if following is not None and end <= t < following:
                self._last = n + 1
                return end, following
        n = self.index_at(t)
        self._last = n
        return self.boundary(n), self.boundary(n + 1)

    def _too_far(self, n: int) -> str:
        return (
            f"more than {MAX_PERIODS_FROM_ANCHOR:,} periods of {self.cadence} separate the instant from the "
            f"anchor {_iso(self.anchor)} (n ≈ {n})"
        )


def period_at(anchor: dt.datetime | None, cadence: Duration | None, t: dt.datetime) -> Period:
    """``[add(anchor, n × d), add(anchor, (n + 1) × d)]`` for the largest ``n`` with
    ``add(anchor, n × d) ≤ t`` (§4.1). ``n`` is negative when the anchor lies after ``t``; an instant
    on a boundary starts a new period. Raises ``TimeArithmeticError`` for a missing anchor, a
    non-positive cadence, ``|n| > 1,000,000`` or a boundary beyond the representable range.
    """
    if anchor is not None:
        anchor = require_utc(anchor, "anchor")
    start, end = Recurrence(anchor, cadence).bounds_at(require_utc(t, "t"))
    return Period(start=start, end=end)
