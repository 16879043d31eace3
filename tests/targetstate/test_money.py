"""§2.3: fiat currencies, minor units, ROUND_HALF_UP and the 16-place ratio."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from targetstate import InvalidCurrencyError, Period, fiat_currency, is_fiat, ratio, round_money
from tests.targetstate.harness import ts


@pytest.mark.parametrize(
    "code, minor_units",
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("XAF", 0), ("IQD", 3)],
)
def test_minor_units_are_the_iso_4217_exponent(code, minor_units):
    assert fiat_currency(code).minor_units == minor_units


@pytest.mark.parametrize("code", ["XAU", "XXX", "XTS", "XDR", "BTC", "usd", "", "DEM", "CREDITS"])
def test_non_fiat_codes_are_rejected(code):
    assert not is_fiat(code)
    with pytest.raises(InvalidCurrencyError, match="not a fiat"):
        fiat_currency(code)


@pytest.mark.parametrize(
    "amount, code, expected",
    [
        ("0.125", "USD", "0.13"),
        ("-0.125", "USD", "-0.13"),
        ("0.124", "USD", "0.12"),
        ("2.5", "JPY", "3"),
        ("1.0005", "KWD", "1.001"),
        ("5", "USD", "5.00"),
    ],
)
def test_round_money_is_half_away_from_zero(amount, code, expected):
    rounded = round_money(Decimal(amount), code)
    assert rounded == Decimal(expected)
    assert str(rounded) == expected


def test_round_money_refuses_floats():
    with pytest.raises(TypeError):
        round_money(0.125, "USD")  # type: ignore[arg-type]


def _p(start: str, end: str) -> Period:
    return Period(start=ts(start), end=ts(end))


@pytest.mark.parametrize(
    "service, full, factor",
    [
        (("2024-01-01", "2024-02-01"), ("2024-01-01", "2024-04-01"), "0.3406593406593407"),
        (("2024-01-21T21:55:18", "2024-02-01"), ("2024-01-01", "2024-02-01"), "0.3253741039426523"),
        (("2024-01-01", "2024-01-15"), ("2024-01-01", "2024-02-01"), "0.4516129032258065"),
        (("2024-01-15", "2024-02-01"), ("2024-01-01", "2024-02-01"), "0.5483870967741935"),
        (("2024-01-10T00:00", "2024-01-10T01:00"), ("2024-01-01", "2024-02-01"), "0.0013440860215054"),
    ],
)
def test_ratio_has_sixteen_places(service, full, factor):
    value = ratio(_p(*service), _p(*full))
    assert value == Decimal(factor)
    assert value.as_tuple().exponent == -16


def test_ratio_is_one_when_the_denominator_is_empty():
    assert ratio(_p("2024-01-01", "2024-01-01"), _p("2024-01-01", "2024-01-01")) == 1


def test_ratio_rounds_half_up_at_the_sixteenth_place():
    # 1 s / 2^17 s = 0.00000762939453125: a tie at the 17th place; half-up gives …313 (half-even …312).
    one_second = _p("2024-01-01T00:00:00", "2024-01-01T00:00:01")
    two_to_the_17_seconds = Period(start=ts("2024-01-01"), end=ts("2024-01-01") + dt.timedelta(seconds=2**17))
    assert ratio(one_second, two_to_the_17_seconds) == Decimal("0.0000076293945313")
    assert ratio(_p("2024-01-01", "2024-01-01T00:00:02"), _p("2024-01-01", "2024-01-01T00:00:03")) == Decimal(
        "0.6666666666666667"
    )
