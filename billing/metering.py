"""Metering: a meter's aggregation of usage events over a service period (billing.md §2).

Events count when ``start ≤ time < end`` (the period is half-open). An empty window aggregates to 0
for every aggregation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal, get_args

from billing.errors import BillingValidationError
from billing.money import exact_arithmetic

Aggregation = Literal["sum", "count", "max", "latest", "unique_count"]
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)

ZERO = Decimal(0)


def aggregate(
    aggregation: Aggregation,
    events: Iterable[tuple[dt.datetime, Decimal]],
    start: dt.datetime,
    end: dt.datetime,
) -> Decimal:
    """Aggregate the values of ``events`` whose time lies in ``[start, end)``.

    - ``sum``: the sum of the values;
    - ``count``: the number of events;
    - ``max``: the largest value (0 when there is none);
    - ``latest``: the value of the event with the latest time (0 when there is none; of several
      events at that same time, the one that comes last in ``events``);
    - ``unique_count``: the number of distinct values (``1`` and ``1.0`` are the same value).
    """
    if aggregation not in AGGREGATIONS:
        raise BillingValidationError(
            f"aggregation {aggregation!r} is not one of {', '.join(AGGREGATIONS)}"
        )
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end < start:
        raise BillingValidationError(f"period end {end.isoformat()} is before its start {start.isoformat()}")

    window: list[tuple[dt.datetime, Decimal]] = []
    for index, (time, value) in enumerate(events):
        _require_aware(time, f"events[{index}].time")
        if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, int)):
            raise BillingValidationError(
                f"events[{index}].value must be a Decimal, got {type(value).__name__} {value!r}"
            )
        if start <= time < end:
            window.append((time, Decimal(value)))

    if not window:
        return ZERO
    values = [value for _, value in window]
    with exact_arithmetic():
        if aggregation == "sum":
            return sum(values, ZERO)
        if aggregation == "count":
            return Decimal(len(values))
        if aggregation == "max":
            return max(values)
        if aggregation == "latest":
            latest_time = max(time for time, _ in window)
            return [value for time, value in window if time == latest_time][-1]
        return Decimal(len(set(values)))


def _require_aware(value: dt.datetime, field: str) -> None:
    if not isinstance(value, dt.datetime):
        raise BillingValidationError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise BillingValidationError(f"{field} must be timezone-aware (UTC), got naive {value.isoformat()}")
