from decimal import Decimal

import pytest
from pydantic import ValidationError

from subscriptions.duration import Duration


@pytest.mark.parametrize(
    "text, fields",
    [
        ("P1M", {"months": 1}),
        ("P1Y", {"years": 1}),
        ("P2W", {"weeks": 2}),
        ("P1DT20H", {"days": 1, "hours": 20}),
        ("P1DT20H2S", {"days": 1, "hours": 20, "seconds": Decimal(2)}),
        ("PT1.5S", {"seconds": Decimal("1.5")}),
        ("-PT1H", {"hours": -1}),
    ],
)
def test_parse_keeps_components_apart(text, fields):
    d = Duration.parse(text)
    assert d == Duration(**fields)
    assert d.iso() == text
    assert Duration.model_validate(d.model_dump()) == d


@pytest.mark.parametrize("text", ["", "abc", "1M", "P"])
def test_parse_rejects_garbage_naming_the_input(text):
    with pytest.raises(ValidationError, match="ISO-8601"):
        Duration.parse(text)


def test_multiplication_scales_every_component():
    assert Duration.parse("P1DT20H") * 3 == Duration(days=3, hours=60)


def test_sum_of_phase_durations_stays_calendar_aware():
    assert Duration.parse("P1M") + Duration.parse("P2W") == Duration(months=1, weeks=2)


@pytest.mark.parametrize(
    "a, b, aligned",
    [
        ("P1M", "P1M", True),
        ("P3M", "P1M", True),
        ("P1Y", "P1M", True),
        ("P1D", "PT1H", True),
        ("P1W", "P4W", True),
        ("P1D", "P3D", True),
        ("P1M", "P1W", False),
        ("P1M", "P30D", False),
        ("P2M", "P3M", False),
        ("P2D", "P3D", False),
        ("P1D", "P1M", True),
        ("PT1H", "P3M", True),
        ("P1D", "P1Y", True),
        ("P2D", "P1M", False),
        ("PT7H", "P1M", False),
    ],
)
def test_cadence_alignment(a, b, aligned):
    assert Duration.parse(a).aligned_with(Duration.parse(b)) is aligned
    assert Duration.parse(b).aligned_with(Duration.parse(a)) is aligned


def test_positivity():
    assert Duration.parse("P1D").is_positive
    assert not Duration.parse("PT0S").is_positive
    assert not Duration.parse("-PT1H").is_positive


import datetime as dt

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    "start, text, expected",
    [
        ("2024-01-31", "P1M", "2024-02-29"),
        ("2025-01-31", "P1M", "2025-02-28"),
        ("2024-03-31", "-P1M", "2024-02-29"),
        ("2024-01-31", "P2M", "2024-03-31"),
        ("2024-02-29", "P1Y", "2025-02-28"),
        ("2024-01-01", "P1DT20H", "2024-01-02T20:00:00"),
        ("2024-01-31", "P1M1D", "2024-03-01"),
    ],
)
def test_add_clamps_month_ends_and_applies_years_months_first(start, text, expected):
    t = dt.datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert Duration.parse(text).add_to(t) == dt.datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_add_keeps_microseconds():
    t = dt.datetime(2021, 1, 1, 0, 0, 0, 123400, tzinfo=UTC)
    assert Duration.parse("PT1.5S").add_to(t) == dt.datetime(2021, 1, 1, 0, 0, 1, 623400, tzinfo=UTC)


def test_add_past_the_end_of_time_overflows():
    with pytest.raises((OverflowError, ValueError)):
        Duration.parse("P1D").add_to(dt.datetime.max.replace(tzinfo=UTC))
