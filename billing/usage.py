"""Meters and the usage events a customer's usage lines are metered from."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict
from typing_extensions import Annotated

from billing.types import Key, UtcDatetime

Aggregation = Literal["sum", "count", "max", "latest", "unique_count"]


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("usage values are decimal strings or integers, not floats")
    return value


UsageValue = Annotated[Decimal, BeforeValidator(_no_float)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Meter(_Frozen):
    """A meter; a usage line's ``feature_key`` names the meter key."""

    namespace: str
    key: Key
    aggregation: Aggregation = "sum"


class NewUsageEvent(_Frozen):
    time: UtcDatetime
    value: UsageValue = Decimal(1)


class UsageEvent(NewUsageEvent):
    id: str
    namespace: str
    customer_id: str
    meter_key: str
    ingested_at: UtcDatetime
    sequence: int
