"""Money: currency precision, half-away-from-zero rounding, canonical text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import BillingValidationError
from billing.money import canonical_text, currency_precision, is_fiat, money_text, round_money

D = Decimal


@pytest.mark.parametrize(
    ("code", "precision"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("TND", 3)],
)
def test_fiat_currencies_use_their_iso_4217_minor_units(code: str, precision: int) -> None:
    assert currency_precision(code) == precision
    assert is_fiat(code)


def test_custom_currency_carries_its_own_precision() -> None:
    custom = {"TOKENS": 3, "CREDITS": 2, "POINTS": 0}
    assert currency_precision("TOKENS", custom=custom) == 3
    assert currency_precision("CREDITS", custom=custom) == 2
    assert currency_precision("POINTS", custom=custom) == 0
    # a custom mapping does not change fiat currencies
    assert currency_precision("JPY", custom=custom) == 0
    assert not is_fiat("TOKENS")


@pytest.mark.parametrize("code", ["CREDITS", "usd", "XYZ", ""])
def test_unknown_currency_is_a_validation_error_naming_it(code: str) -> None:
    with pytest.raises(BillingValidationError, match=repr(code)):
        currency_precision(code, custom={"TOKENS": 3})


def test_custom_currency_may_not_shadow_a_fiat_code() -> None:
    with pytest.raises(BillingValidationError, match="USD"):
        currency_precision("USD", custom={"USD": 3})


@pytest.mark.parametrize("precision", [-1, 1.5, True, "2"])
def test_custom_precision_must_be_a_non_negative_int(precision: object) -> None:
    with pytest.raises(BillingValidationError, match="BAD"):
        currency_precision("BAD", custom={"BAD": precision})  # type: ignore[dict-item]


# charges.md §0.1 table: round(x, currency) is half away from zero
@pytest.mark.parametrize(
    ("value", "precision", "expected"),
    [
        (D(1) * D("1.005"), 2, "1.01"),
        (D(1) * D("2.675"), 2, "2.68"),
        (D(2) * D("1.0025"), 2, "2.01"),  # 2.0050 → 2.01
        (D(1) * D("1.004"), 2, "1.00"),
        (D(1) * D("0.005"), 2, "0.01"),
        (D("100.123"), 2, "100.12"),
        (D("100.1234"), 3, "100.123"),  # TOKENS, precision 3
        (D("0.125"), 2, "0.13"),
        (D("-0.125"), 2, "-0.13"),  # half AWAY from zero, not half up towards +∞
        (D("-0.124"), 2, "-0.12"),
        (D("-2.5"), 0, "-3"),
        (D("2.5"), 0, "3"),  # JPY: no banker's rounding
        (D("1.0005"), 3, "1.001"),  # KWD
        (D("-1.0005"), 3, "-1.001"),
        (D("5"), 2, "5.00"),  # always the currency's digits
    ],
)
def test_round_money_is_half_away_from_zero(value: Decimal, precision: int, expected: str) -> None:
    rounded = round_money(value, precision)
    assert str(rounded) == expected
    assert rounded.as_tuple().exponent == -precision


def test_round_money_keeps_large_amounts_exact() -> None:
    # 31 integer digits: beyond the default decimal context (28 digits) yet exact here
    big = D("1234567890123456789012345678901.235")
    assert round_money(big, 2) == D("1234567890123456789012345678901.24")


@pytest.mark.parametrize("bad", [1.5, "1.5", None, D("NaN"), D("Infinity")])
def test_round_money_rejects_non_decimals(bad: object) -> None:
    with pytest.raises(BillingValidationError):
        round_money(bad, 2)  # type: ignore[arg-type]


def test_round_money_rejects_negative_precision() -> None:
    with pytest.raises(BillingValidationError, match="precision"):
        round_money(D("1.5"), -1)


@given(
    st.decimals(min_value=-10**9, max_value=10**9, places=6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=4),
)
def test_rounding_is_symmetric_and_within_half_a_minor_unit(value: Decimal, precision: int) -> None:
    rounded = round_money(value, precision)
    assert round_money(-value, precision) == -rounded
    half_unit = D(1).scaleb(-precision) / 2
    assert abs(rounded - value) <= half_unit
    # a tie goes away from zero
    if abs(rounded - value) == half_unit:
        assert abs(rounded) > abs(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [(D("100"), "100"), (D("100.50"), "100.5"), (D("100.1230"), "100.123"), (D("1E+2"), "100"),
     (D("0.000"), "0"), (D("-0.0"), "0"), (D("-1.10"), "-1.1")],
)
def test_canonical_text_has_no_exponent_and_no_trailing_zeros(value: Decimal, text: str) -> None:
    assert canonical_text(value) == text


def test_money_text_prints_the_currency_digits() -> None:
    assert money_text(D("10"), 2) == "10.00"
    assert money_text(D("1000.4"), 0) == "1000"
    assert money_text(D("0.0005"), 3) == "0.001"


@pytest.mark.parametrize("code, digits", [("IQD", 3), ("LBP", 2), ("AFN", 2), ("CLF", 4)])
def test_minor_units_follow_iso_4217_not_cldr_cash_digits(code, digits):
    assert currency_precision(code) == digits


@pytest.mark.parametrize("code", ["XAU", "XDR", "XTS", "XXX", "usd", "US", "ABC"])
def test_codes_without_minor_units_or_unknown_are_not_fiat(code):
    assert not is_fiat(code)
