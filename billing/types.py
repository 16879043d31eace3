"""Shared field types of billing models: UTC instants, keys, decimal amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

UTC = dt.timezone.utc

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

#: Phase, item, rate-card, meter and customer keys and subscription ids: they split identities on "/".
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, max_length=64)]


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


#: A timezone-aware instant, converted to UTC. Naive datetimes are rejected.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("money and quantities are decimal strings, not floats")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite decimal")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    return value


#: A decimal amount given as a string or int (never float), finite and ≥ 0.
Amount = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_finite), AfterValidator(_non_negative)]


def truncate_to_second(value: dt.datetime) -> dt.datetime:
    """Drop the sub-second part of an instant (the store's timestamp normalisation)."""
    return value.replace(microsecond=0)


def require_utc(value: dt.datetime, *, field: str) -> dt.datetime:
    """Reject naive datetimes at an operation's edge; return the instant in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)
