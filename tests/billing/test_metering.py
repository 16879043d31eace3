"""Metering: each aggregation over the half-open window start ≤ time < end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import BillingValidationError
from billing.metering import AGGREGATIONS, aggregate

D = Decimal
UTC = dt.timezone.utc
JAN = dt.datetime(2024, 1, 1, tzinfo=UTC)
FEB = dt.datetime(2024, 2, 1, tzinfo=UTC)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, tzinfo=UTC)


EVENTS = [
    (dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC), D(100)),  # before the window
    (JAN, D(2)),                 # at start: counts
    (at(1, 12), D(3)),
    (at(2), D(6)),
    (at(2), D(3)),               # same value again
    (at(31, 12), D("1.5")),      # the latest event inside the window
    (FEB, D(1000)),              # at end: does not count
]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("sum", D("15.5")),        # 2 + 3 + 6 + 3 + 1.5
        ("count", D(5)),           # five events inside
        ("max", D(6)),
        ("latest", D("1.5")),      # the value at Jan 31 12:00
        ("unique_count", D(4)),    # {2, 3, 6, 1.5}
    ],
)
def test_aggregations_over_a_half_open_window(aggregation: str, expected: Decimal) -> None:
    assert aggregate(aggregation, EVENTS, JAN, FEB) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_an_empty_window_is_zero(aggregation: str) -> None:
    assert aggregate(aggregation, [], JAN, FEB) == 0  # type: ignore[arg-type]
    # events only at the end and before the start
    assert aggregate(aggregation, [(FEB, D(5)), (at(1) - dt.timedelta(seconds=1), D(7))], JAN, FEB) == 0  # type: ignore[arg-type]
    # a zero-length window holds nothing, not even an event at its instant
    assert aggregate(aggregation, [(JAN, D(5))], JAN, JAN) == 0  # type: ignore[arg-type]


def test_latest_is_by_event_time_not_by_order() -> None:
    events = [(at(20), D(9)), (at(3), D(4))]
    assert aggregate("latest", events, JAN, FEB) == D(9)
    # two events at the same latest instant: the later one in the input wins
    assert aggregate("latest", [(at(5), D(1)), (at(5), D(2))], JAN, FEB) == D(2)


def test_unique_count_compares_values_numerically() -> None:
    assert aggregate("unique_count", [(at(1), D("1")), (at(2), D("1.0")), (at(3), D("2"))], JAN, FEB) == 2


def test_max_of_negative_values_is_the_largest_value() -> None:
    assert aggregate("max", [(at(1), D(-3)), (at(2), D(-1))], JAN, FEB) == D(-1)


def test_other_time_zones_compare_as_instants() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    # 2024-02-01T01:00+02:00 is 2024-01-31T23:00Z: inside
    inside = dt.datetime(2024, 2, 1, 1, tzinfo=plus_two)
    assert aggregate("sum", [(inside, D(4))], JAN, FEB) == D(4)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("median", [], JAN, FEB), "aggregation"),
        (("sum", [], dt.datetime(2024, 1, 1), FEB), "start"),
        (("sum", [], JAN, dt.datetime(2024, 2, 1)), "end"),
        (("sum", [(dt.datetime(2024, 1, 2), D(1))], JAN, FEB), r"events\[0\].time"),
        (("sum", [(at(2), 1.5)], JAN, FEB), r"events\[0\].value"),
        (("sum", [], FEB, JAN), "before its start"),
    ],
)
def test_bad_input_is_a_validation_error(args: tuple, field: str) -> None:
    with pytest.raises(BillingValidationError, match=field):
        aggregate(*args)


times = st.datetimes(min_value=dt.datetime(2023, 12, 1), max_value=dt.datetime(2024, 3, 1),
                     timezones=st.just(UTC))
values = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(times, values), max_size=30))
def test_window_filter_matches_a_plain_definition(events: list[tuple[dt.datetime, Decimal]]) -> None:
    inside = [v for t, v in events if JAN <= t < FEB]
    assert aggregate("sum", events, JAN, FEB) == sum(inside, D(0))
    assert aggregate("count", events, JAN, FEB) == len(inside)
    assert aggregate("max", events, JAN, FEB) == (max(inside) if inside else 0)
    assert aggregate("unique_count", events, JAN, FEB) == len(set(inside))
    # splitting the window in two never changes sum and count
    middle = at(15, 7)
    for aggregation in ("sum", "count"):
        assert aggregate(aggregation, events, JAN, middle) + aggregate(aggregation, events, middle, FEB) == \
            aggregate(aggregation, events, JAN, FEB)
