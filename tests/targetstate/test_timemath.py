"""§2.1, §2.2, §2.4 and §4.1: truncation, periods, durations on instants and the recurrence."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from subscriptions.duration import Duration
from targetstate import INFINITY, Period, TargetStateError, TimeArithmeticError, duration_seconds, period_at, truncate
from targetstate.timemath import MAX_PERIODS_FROM_ANCHOR, Recurrence, multiply
from tests.targetstate.harness import dur, ts


def test_truncate_floors_to_the_whole_second():
    assert truncate(ts("2021-01-01T00:00:00.999999Z")) == ts("2021-01-01T00:00:00Z")
    assert truncate(ts("2021-01-01T00:00:05Z")) == ts("2021-01-01T00:00:05Z")


def test_period_rejects_an_end_before_its_start():
    with pytest.raises(ValidationError, match="ends before it starts"):
        Period(start=ts("2024-01-02"), end=ts("2024-01-01"))


def test_period_rejects_naive_instants_and_converts_other_zones_to_utc():
    with pytest.raises(ValidationError, match="timezone"):
        Period(start=dt.datetime(2024, 1, 1), end=dt.datetime(2024, 1, 2))
    cet = dt.timezone(dt.timedelta(hours=1))
    p = Period(start=dt.datetime(2024, 1, 1, 1, tzinfo=cet), end=dt.datetime(2024, 1, 2, 1, tzinfo=cet))
    assert p.start == ts("2024-01-01") and p.start.tzinfo is dt.timezone.utc


def test_unchecked_period_keeps_the_horizons_inverted_pair():
    p = Period.unchecked(ts("2024-03-01"), ts("2024-02-01"))
    assert p.end < p.start


def test_an_instant_is_an_empty_period():
    p = Period(start=ts("2024-01-01"), end=ts("2024-01-01"))
    assert p.is_empty and duration_seconds(p) == 0


@pytest.mark.parametrize(
    "start, end, seconds",
    [
        ("2024-01-01", "2024-02-01", 2_678_400),
        ("2024-01-01", "2024-04-01", 7_862_400),
        ("2024-01-21T21:55:18", "2024-02-01", 871_482),
    ],
)
def test_duration_in_whole_seconds(start, end, seconds):
    assert duration_seconds(Period(start=ts(start), end=ts(end))) == seconds


@pytest.mark.parametrize(
    "start, duration, expected",
    [
        ("2024-01-31", "P1M", "2024-02-29"),
        ("2025-01-31", "P1M", "2025-02-28"),
        ("2024-03-31", "-P1M", "2024-02-29"),
    ],
    ids=["leap-february", "february", "backwards"],
)
def test_add_clamps_the_day_of_month(start, duration, expected):
    """§2.2: years and months never spill into the following month."""
    assert dur(duration).add_to(ts(start)) == ts(expected)


def test_multiplying_a_duration_scales_every_component():
    """§2.2: P1DT20H × 3 = P3DT60H (and is the same instant offset as P5DT12H in UTC)."""
    product = dur("P1DT20H") * 3
    assert product == Duration(days=3, hours=60)
    assert product.add_to(ts("2024-01-01")) == dur("P5DT12H").add_to(ts("2024-01-01"))


@pytest.mark.parametrize(
    "n, expected",
    [(0, "2024-01-31"), (1, "2024-02-29"), (2, "2024-03-31"), (3, "2024-04-30"), (4, "2024-05-31")],
)
def test_boundaries_are_computed_from_the_anchor(n, expected):
    """§2.2: from 01-31 with P1M the boundaries are 01-31, 02-29, 03-31, 04-30, 05-31 (repeated
    addition would drift to 03-29, 04-29)."""
    assert Recurrence(ts("2024-01-31"), dur("P1M")).boundary(n) == ts(expected)


@pytest.mark.parametrize(
    "anchor, cadence, t, start, end",
    [
        ("2024-01-31", "P1M", "2024-03-15", "2024-02-29", "2024-03-31"),
        ("2024-01-31", "P1M", "2024-02-29", "2024-02-29", "2024-03-31"),
        ("2024-03-31", "P1M", "2024-02-10", "2024-01-31", "2024-02-29"),
    ],
    ids=["month-end anchor", "on a boundary", "anchor later (n = -2)"],
)
def test_period_at(anchor, cadence, t, start, end):
    assert period_at(ts(anchor), dur(cadence), ts(t)) == Period(start=ts(start), end=ts(end))


def test_period_at_index_is_negative_when_the_anchor_is_later():
    assert Recurrence(ts("2024-03-31"), dur("P1M")).index_at(ts("2024-02-10")) == -2


@pytest.mark.parametrize("cadence", ["PT0S", "-P1D"])
def test_period_at_rejects_non_positive_cadences(cadence):
    with pytest.raises(TimeArithmeticError, match="positive cadence"):
        period_at(ts("2024-01-01"), dur(cadence), ts("2024-02-01"))


def test_period_at_rejects_a_missing_anchor():
    with pytest.raises(TimeArithmeticError, match="anchor"):
        period_at(None, dur("P1D"), ts("2024-02-01"))


def test_period_at_refuses_more_than_a_million_periods():
    anchor = ts("2000-01-01")
    hours = dt.timedelta(hours=1)
    last_allowed = anchor + hours * MAX_PERIODS_FROM_ANCHOR
    assert period_at(anchor, dur("PT1H"), last_allowed).start == last_allowed
    with pytest.raises(TimeArithmeticError, match="1,000,000"):
        period_at(anchor, dur("PT1H"), last_allowed + hours)
    with pytest.raises(TimeArithmeticError, match="1,000,000"):
        period_at(anchor, dur("PT1H"), anchor - hours * (MAX_PERIODS_FROM_ANCHOR + 1))


def test_period_at_converts_overflow_into_a_target_state_error():
    """§2.4: adding a duration past 9999-12-31 raises OverflowError; the builder reports it."""
    with pytest.raises(TargetStateError, match="out of range"):
        period_at(ts("9999-06-01"), dur("P1Y"), ts("9999-12-01"))


def test_infinity_is_the_latest_instant():
    assert INFINITY == dt.datetime.max.replace(tzinfo=dt.timezone.utc)


CADENCES = ["PT1H", "PT6H", "P1D", "P1W", "P2W", "P1M", "P3M", "P1Y", "P1M1D", "P1DT20H"]


@st.composite
def instants(draw):
    base = draw(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 12, 31)))
    day = draw(st.sampled_from([None, 28, 29, 30, 31]))
    if day is not None:
        try:
            base = base.replace(day=day)
        except ValueError:
            pass
    return base.replace(tzinfo=dt.timezone.utc)


@given(anchor=instants(), t=instants(), cadence=st.sampled_from(CADENCES))
def test_period_at_contains_t_and_is_the_from_anchor_recurrence(anchor, t, cadence):
    d = dur(cadence)
    recurrence = Recurrence(anchor, d)
    try:
        n = recurrence.index_at(t)
    except TimeArithmeticError:
        return  # more than a million short periods apart
    start, end = recurrence.boundary(n), recurrence.boundary(n + 1)
    assert start <= t < end
    assert start == (d * n).add_to(anchor)
    assert end == (d * (n + 1)).add_to(anchor)
    assert period_at(anchor, d, t) == Period(start=start, end=end)


@given(anchor=instants(), ts_=st.lists(instants(), min_size=1, max_size=8), cadence=st.sampled_from(CADENCES))
def test_a_memoised_recurrence_answers_like_a_fresh_one(anchor, ts_, cadence):
    d = dur(cadence)
    shared = Recurrence(anchor, d)
    for t in ts_ + ts_:
        try:
            expected = Recurrence(anchor, d).bounds_at(t)
        except TimeArithmeticError:
            continue
        assert shared.bounds_at(t) == expected


@given(cadence=st.sampled_from(CADENCES + ["-P1M", "PT1.5S", "P1Y2M3W4DT5H6M7.000008S"]), n=st.integers(-5000, 5000))
def test_multiply_is_duration_times_n(cadence, n):
    assert multiply(dur(cadence), n) == dur(cadence) * n


def test_period_at_rejects_naive_instants():
    with pytest.raises(TargetStateError, match="t must be timezone-aware"):
        period_at(ts("2024-01-01"), dur("P1D"), dt.datetime(2024, 2, 1))
