"""Shared field types of the subscription model: UTC instants, keys, money amounts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

from subscriptions.display import show

UTC = dt.timezone.utc

#: Free-text names (plan, phase, rate card, subscription, customer): billing stores line names in 256
#: characters.
MAX_NAME_LENGTH = 256
#: Free-text descriptions.
MAX_DESCRIPTION_LENGTH = 10_000
#: Amounts and quantities of a price: below 10^15 (a quadrillion) ...
MAX_AMOUNT_DIGITS = 15
#: ... with at most 18 decimal places (a unit price of 0.000000000000000001 is still expressible).
MAX_AMOUNT_PLACES = 18

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

#: Phase, item, rate-card, meter and customer keys and subscription ids: they split identities on "/".
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, max_length=64)]


#: Control characters (C0, DEL, C1) and lone surrogates: no database stores NUL in text or JSON
#: (PostgreSQL refuses both), and none belongs in a name. Descriptions may hold tabs and line breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(value: str, *, names: bool = True) -> str:
    """``value`` when it holds no control character (``names=False``: tabs and line breaks allowed)."""
    found = (_CONTROL_IN_NAMES if names else _CONTROL).search(value)
    if found is not None:
        raise ValueError(f"must not contain control characters, got {found.group()!r} at position {found.start() + 1}")
    return value


def _description_text(value: str) -> str:
    return check_text(value, names=False)


Name = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH), AfterValidator(check_text)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH), AfterValidator(_description_text)]


def _to_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC instant
        raise ValueError(f"{show(value.isoformat())} lies outside the supported range of instants") from None


_SUB_MICROSECOND = re.compile(r"[Tt ]\d{2}:\d{2}:\d{2}[.,]\d{7,}")
#: RFC 3339 with the offset optional (a missing offset is reported as a naive instant) and a date alone
#: allowed (reported as naive too). Unix timestamps ("1700000000") are not instants of the file format.
_RFC_3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def _rfc_3339_text(value: object) -> object:
    # Only RFC 3339 text or a datetime is an instant: pydantic would also take numbers (and digit
    # strings) as Unix timestamps. Parsers silently drop digits past the microsecond; the spec calls
    # such input invalid (§2.1).
    if isinstance(value, str):
        if not _RFC_3339.fullmatch(value.strip()):
            raise ValueError(f"not an RFC 3339 instant: {show(value)}")
        if _SUB_MICROSECOND.search(value):
            raise ValueError(f"instants are precise to the microsecond; {show(value)} has more fractional digits")
    elif not isinstance(value, (dt.datetime, dt.date)):
        raise ValueError(f"not an RFC 3339 instant: {show(value)} (write e.g. 2024-01-01T00:00:00Z)")
    return value


#: A timezone-aware instant, converted to UTC. Naive datetimes, sub-microsecond digits and anything but
#: RFC 3339 text or a datetime are rejected.
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc_3339_text), AfterValidator(_to_utc)]


#: Characters of a decimal amount's text: any amount within the bounds below fits easily.
MAX_AMOUNT_TEXT = 64


#: A decimal amount's text: ASCII digits, an optional sign, point and exponent. Python's ``Decimal``
#: would also read "١٢" (Arabic-Indic 12), "1_000" and "NaN".
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("money and quantities are decimal strings, not floats")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_AMOUNT_TEXT:
            raise ValueError(f"a decimal amount has at most {MAX_AMOUNT_TEXT} characters, got {show(value)}")
        if not _DECIMAL_TEXT.fullmatch(text):
            raise ValueError(f"not a decimal amount: {show(value)}")
        return text
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite decimal")
    return value


def _bounded(value: Decimal) -> Decimal:
    # Checked before anything prints the value: 1e999999999 is a short text but a billion digits.
    # adjusted() is the exponent of the leading digit; unlike abs() or formatting it needs no context,
    # which would overflow on such numbers.
    if value and value.adjusted() >= MAX_AMOUNT_DIGITS:
        raise ValueError(f"must be less than 10^{MAX_AMOUNT_DIGITS}, got a number of about 10^{value.adjusted()}")
    places = _decimal_places(value)
    if places > MAX_AMOUNT_PLACES:
        raise ValueError(f"must have at most {MAX_AMOUNT_PLACES} decimal places, got {places}")
    return value


def _decimal_places(value: Decimal) -> int:
    """Fractional digits of ``value`` without its trailing zeros (5.2500 has 2)."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    return max(0, -(exponent + len(digits) - len(significant)))


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


#: A decimal amount given as a string or int (never float), finite, ≥ 0, below 10^15 and with at most 18
#: decimal places.
Amount = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    AfterValidator(_finite),
    AfterValidator(_bounded),
    AfterValidator(_non_negative),
]
