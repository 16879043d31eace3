"""ISO-8601 durations as a frozen value type.

Parsing is delegated to ``isodate``; arithmetic on instants lives in ``targetstate.timemath``.
A duration keeps its calendar components apart (P1M is not 30 days) because month arithmetic
clamps to the end of the month.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import isodate
from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from subscriptions.display import show

_SECONDS_PER_DAY = 86_400
_MICRO = Decimal("0.000001")
#: No instant can be moved by more than the span of ``datetime`` (years 1 to 9999), so a longer duration
#: (nominally, months as 30.436875 days) is refused as input instead of overflowing later.
MAX_NOMINAL_SECONDS = Decimal(10_000 * 12) * Decimal("2629746")
#: Characters of an ISO-8601 duration's text.
MAX_DURATION_TEXT = 64
_FRACTION = re.compile(r"[.,](\d+)")


class Duration(BaseModel):
    """An ISO-8601 duration: years, months, weeks, days, hours, minutes, seconds.

    All components share one sign. Seconds may carry a fraction down to the microsecond.
    Pydantic fields of this type accept ISO strings ("P1M", "-PT1H") and serialise back to them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: Decimal = Decimal(0)

    @model_validator(mode="before")
    @classmethod
    def _from_iso(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _parse_components(value)
        if isinstance(value, dt.timedelta):
            return _timedelta_components(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> "Duration":
        comps = self._components()
        if any(not c.is_finite() or abs(c) > MAX_NOMINAL_SECONDS for c in comps) or (
            abs(self.nominal_seconds()) > MAX_NOMINAL_SECONDS
        ):
            # Checked first, and the value is not rendered: its text could be millions of digits long.
            raise ValueError("a duration must not be longer than 10 000 years")
        if any(c > 0 for c in comps) and any(c < 0 for c in comps):
            raise ValueError(f"duration {self.iso()} mixes positive and negative components")
        if self.seconds != self.seconds.quantize(_MICRO):
            raise ValueError(f"duration {self.iso()} is finer than a microsecond")
        return self

    @model_serializer
    def _serialise(self) -> str:
        return self.iso()

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> "Duration":
        """Parse an ISO-8601 duration such as ``P1M``, ``P1DT20H`` or ``-PT1H``."""
        return cls.model_validate(text)

    # -- predicates ---------------------------------------------------------------------------

    def _components(self) -> tuple[Decimal, ...]:
        return (
            Decimal(self.years),
            Decimal(self.months),
            Decimal(self.weeks),
            Decimal(self.days),
            Decimal(self.hours),
            Decimal(self.minutes),
            self.seconds,
        )

    @property
    def is_zero(self) -> bool:
        return all(c == 0 for c in self._components())

    @property
    def is_positive(self) -> bool:
        """True when every component is ≥ 0 and at least one is > 0 (a valid cadence)."""
        comps = self._components()
        return all(c >= 0 for c in comps) and any(c > 0 for c in comps)

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    @property
    def fixed_seconds(self) -> Decimal:
        """Weeks, days and time components in seconds (exact in UTC)."""
        return (
            Decimal((self.weeks * 7 + self.days) * _SECONDS_PER_DAY + self.hours * 3600 + self.minutes * 60)
            + self.seconds
        )

    def nominal_seconds(self) -> Decimal:
        """An estimate of the length (months as 30.436875 days); for estimates only, never for boundaries."""
        return Decimal(self.total_months) * Decimal("2629746") + self.fixed_seconds

    def aligned_with(self, other: "Duration") -> bool:
        """True when the two cadences are equal or one is a whole multiple of the other.

        Month-based and fixed-length parts are compared separately: P3M is aligned with P1M,
        P1D with PT1H, but P1M is never aligned with P1W or P30D. A fixed cadence that divides a day
        (P1D, PT1H, …) also divides every month-based cadence whose fixed part it divides, because
        every calendar month is a whole number of days (the sync catalogue's daily items on a P1M
        plan, S-002).
        """
        a = (self.total_months, self.fixed_seconds)
        b = (other.total_months, other.fixed_seconds)
        if a == b:
            return True
        return _divides(a, b) or _divides(b, a) or _divides_calendar(a, b) or _divides_calendar(b, a)

    # -- arithmetic on durations --------------------------------------------------------------

    def __mul__(self, n: int) -> "Duration":
        if not isinstance(n, int):
            return NotImplemented
        return Duration(
            years=self.years * n,
            months=self.months * n,
            weeks=self.weeks * n,
            days=self.days * n,
            hours=self.hours * n,
            minutes=self.minutes * n,
            seconds=self.seconds * n,
        )

    __rmul__ = __mul__

    def __add__(self, other: "Duration") -> "Duration":
        if not isinstance(other, Duration):
            return NotImplemented
        return Duration(
            years=self.years + other.years,
            months=self.months + other.months,
            weeks=self.weeks + other.weeks,
            days=self.days + other.days,
            hours=self.hours + other.hours,
            minutes=self.minutes + other.minutes,
            seconds=self.seconds + other.seconds,
        )

    def __neg__(self) -> "Duration":
        return self * -1

    # -- applying to instants ------------------------------------------------------------------

    def add_to(self, t: dt.datetime) -> dt.datetime:
        """``add(t, d)``: years and months first (day of month clamped, never spilling into the next
        month), then weeks, days, hours, minutes and seconds as elapsed time (equal to calendar days
        in UTC). Raises ``OverflowError`` / ``ValueError`` past the representable range.
        """
        shifted = t + relativedelta(years=self.years, months=self.months) if self.total_months else t
        micros = int((self.seconds * 1_000_000).to_integral_value())
        return shifted + dt.timedelta(
            weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, microseconds=micros
        )

    # -- rendering ----------------------------------------------------------------------------

    def iso(self) -> str:
        comps = self._components()
        negative = any(c < 0 for c in comps)
        d = -self if negative else self
        date_part = "".join(
            f"{v}{u}" for v, u in ((d.years, "Y"), (d.months, "M"), (d.weeks, "W"), (d.days, "D")) if v
        )
        secs = d.seconds.normalize() if d.seconds else Decimal(0)
        sec_text = format(secs, "f") if secs else ""
        time_part = "".join(
            f"{v}{u}" for v, u in ((d.hours, "H"), (d.minutes, "M"), (sec_text, "S")) if v
        )
        body = date_part + (f"T{time_part}" if time_part else "")
        return ("-" if negative else "") + "P" + (body or "T0S")

    def __str__(self) -> str:
        return self.iso()

    def __repr__(self) -> str:
        return f"Duration({self.iso()!r})"


def _divides(small: tuple[int, Decimal], large: tuple[int, Decimal]) -> bool:
    """True when ``large`` is a whole multiple (≥ 2) of ``small``."""
    months_s, secs_s = small
    months_l, secs_l = large
    if months_s == 0 and secs_s == 0:
        return False
    factor: Decimal | None = None
    for s, l in ((Decimal(months_s), Decimal(months_l)), (secs_s, secs_l)):
        if s == 0:
            if l != 0:
                return False
            continue
        q = l / s
        if q != q.to_integral_value() or q < 2:
            return False
        if factor is not None and q != factor:
            return False
        factor = q
    return factor is not None


def _divides_calendar(small: tuple[int, Decimal], large: tuple[int, Decimal]) -> bool:
    """True when ``small`` is a fixed cadence dividing a day and ``large`` is month-based with a fixed
    part that ``small`` divides (P1D and PT1H divide P1M; P2D and P1W do not)."""
    months_s, secs_s = small
    months_l, secs_l = large
    if months_s != 0 or secs_s <= 0 or months_l <= 0:
        return False
    return _SECONDS_PER_DAY % secs_s == 0 and secs_l % secs_s == 0


def _parse_components(text: str) -> dict[str, Any]:
    if len(text) > MAX_DURATION_TEXT or not any(c.isdigit() for c in text):
        # isodate reads "P" and "PT" as zero; ISO 8601 needs at least one component.
        raise ValueError(f"not an ISO-8601 duration: {show(text)}")
    fraction = _FRACTION.search(text)
    if fraction is not None and len(fraction.group(1)) > 6:
        # isodate rounds them away silently (PT1.0000001S would become PT1S); the spec calls them invalid.
        raise ValueError(f"duration {text!r} is finer than a microsecond")
    try:
        parsed = isodate.parse_duration(text.strip())
    except ArithmeticError as exc:  # OverflowError: days or hours beyond what a timedelta holds
        raise ValueError("a duration must not be longer than 10 000 years") from exc
    except (isodate.ISO8601Error, ValueError) as exc:
        raise ValueError(f"not an ISO-8601 duration: {show(text)}") from exc
    if isinstance(parsed, dt.timedelta):
        return _timedelta_components(parsed, weeks_text=text)
    # isodate.Duration: years/months kept apart, the rest in a timedelta.
    comps = _timedelta_components(parsed.tdelta, weeks_text=text)
    comps["years"] = int(parsed.years)
    comps["months"] = int(parsed.months)
    if parsed.years != int(parsed.years) or parsed.months != int(parsed.months):
        raise ValueError(f"fractional years or months are not supported: {text!r}")
    return comps


def _timedelta_components(td: dt.timedelta, weeks_text: str | None = None) -> dict[str, Any]:
    negative = td < dt.timedelta(0)
    td = -td if negative else td
    sign = -1 if negative else 1
    days = td.days
    weeks = 0
    if weeks_text is not None and "W" in weeks_text.upper() and days % 7 == 0:
        weeks, days = days // 7, 0
    secs = td.seconds
    hours, rest = divmod(secs, 3600)
    minutes, whole = divmod(rest, 60)
    seconds = Decimal(whole) + Decimal(td.microseconds) / Decimal(1_000_000)
    return {
        "weeks": sign * weeks,
        "days": sign * days,
        "hours": sign * hours,
        "minutes": sign * minutes,
        "seconds": sign * seconds,
    }
