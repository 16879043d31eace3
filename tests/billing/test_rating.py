"""Rating a whole line (billing.md §2): every price type, commitments, discounts, precision.

Each expected total is worked out by hand in the comment next to it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from billing.errors import BillingValidationError
from billing.prices import Discounts, Price
from billing.rating import Totals, rate, rate_breakdown

D = Decimal
USD, JPY, KWD = 2, 0, 3

_PRICE = TypeAdapter(Price)


def price(**fields: Any) -> Any:
    return _PRICE.validate_python(fields)


def totals(amount: str, discounts: str = "0", total: str | None = None) -> Totals:
    return Totals(amount=D(amount), discounts=D(discounts), total=None if total is None else D(total))


GRADUATED = price(type="tiered", mode="graduated", tiers=[
    {"up_to": "100", "unit_price": "1"},
    {"up_to": "1000", "unit_price": "0.5", "flat_price": "10"},
    {"up_to": None, "unit_price": "0.1"},
])
VOLUME = price(type="tiered", mode="volume", tiers=[
    {"up_to": "100", "unit_price": "1"},
    {"up_to": "1000", "unit_price": "0.5", "flat_price": "10"},
    {"up_to": None, "unit_price": "0.1", "flat_price": "20"},
])
PACKAGE = price(type="package", amount="10", quantity_per_package="100")


# --- price types ---------------------------------------------------------------------------------


def test_flat_is_per_unit_amount_times_quantity() -> None:
    flat = price(type="flat", amount="5")
    # subscription line: quantity 1, per_unit_amount = the prorated amount 3.23
    assert rate(flat, D(1), per_unit_amount=D("3.23"), precision=USD) == totals("3.23")
    # 3 × 0.333 = 0.999 → 1.00 (rounded once, at the end)
    assert rate(flat, D(3), per_unit_amount=D("0.333"), precision=USD) == totals("1.00")
    # no per_unit_amount given: the price's own amount, 1 × 5
    assert rate(flat, D(1), precision=USD) == totals("5.00")


def test_unit_is_quantity_times_amount_rounded_once() -> None:
    unit = price(type="unit", amount="0.25")
    assert rate(unit, D(7), precision=USD) == totals("1.75")  # 7 × 0.25
    # 3 × 0.333 = 0.999 → 1.00; rounding the unit price first would give 0.99
    assert rate(price(type="unit", amount="0.333"), D(3), precision=USD) == totals("1.00")
    assert rate(unit, D(0), precision=USD) == totals("0.00")


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        ("0", "0.00"),        # no unit in any tier
        ("50", "50.00"),      # 50 × 1
        ("100", "100.00"),    # 100 × 1; tier 2 starts above 100, its flat price not yet due
        ("100.5", "110.25"),  # 100 × 1 + 0.5 × 0.5 + flat 10
        ("1500", "610.00"),   # 100 × 1 + 900 × 0.5 + flat 10 + 500 × 0.1
    ],
)
def test_graduated_tiers(quantity: str, amount: str) -> None:
    assert rate(GRADUATED, D(quantity), precision=USD) == totals(amount)


def test_graduated_first_tier_flat_price_is_a_base_fee_even_without_usage() -> None:
    # scenarios/credits.md C-023: graduated[{up_to 1, flat 5}, {∞, unit 5}] with 0 units → 5
    base_fee = price(type="tiered", mode="graduated", tiers=[
        {"up_to": "1", "flat_price": "5"}, {"up_to": None, "unit_price": "5"}])
    assert rate(base_fee, D(0), precision=USD) == totals("5.00")
    assert rate(base_fee, D(1), precision=USD) == totals("5.00")   # flat 5 + 1 × 0
    assert rate(base_fee, D(3), precision=USD) == totals("15.00")  # flat 5 + 2 × 5


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        ("0", "0.00"),        # quantity 0 → 0, even though tier 1 would apply
        ("50", "50.00"),      # 50 × 1
        ("100", "100.00"),    # 100 is inside (0, 100]
        ("101", "60.50"),     # all 101 units at tier 2: 101 × 0.5 + flat 10
        ("2000", "220.00"),   # 2000 × 0.1 + flat 20
    ],
)
def test_volume_tiers(quantity: str, amount: str) -> None:
    assert rate(VOLUME, D(quantity), precision=USD) == totals(amount)


def test_a_bounded_last_tier_prices_everything_above_it() -> None:
    tiers = [{"up_to": "10", "unit_price": "1"}, {"up_to": "20", "unit_price": "2"}]
    graduated = price(type="tiered", mode="graduated", tiers=tiers)
    volume = price(type="tiered", mode="volume", tiers=tiers)
    assert rate(graduated, D(25), precision=USD) == totals("40.00")  # 10 × 1 + 15 × 2
    assert rate(volume, D(25), precision=USD) == totals("50.00")     # 25 × 2


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [("0", "0.00"), ("1", "10.00"), ("100", "10.00"), ("101", "20.00"), ("250.5", "30.00")],
    # ceil(q / 100) × 10: 0, 1, 1, 2, 3 packages
)
def test_package_rounds_packages_up(quantity: str, amount: str) -> None:
    assert rate(PACKAGE, D(quantity), precision=USD) == totals(amount)


# --- commitments ---------------------------------------------------------------------------------


def test_minimum_commitment_adds_the_shortfall_as_minimum_spend() -> None:
    unit = price(type="unit", amount="1", minimum_amount="10")
    rating = rate_breakdown(unit, D(4), precision=USD)
    # usage 4 × 1 = 4; minimum spend 10 − 4 = 6 on the same line; amount 10
    assert (rating.price_amount, rating.minimum_spend) == (D("4.00"), D("6.00"))
    assert rating.totals == totals("10.00")
    assert rate(unit, D(12), precision=USD) == totals("12.00")  # above the minimum: nothing added


def test_maximum_commitment_turns_the_excess_into_a_discount() -> None:
    unit = price(type="unit", amount="1", maximum_amount="10")
    # 15 × 1 = 15; 15 − 10 = 5 above the maximum is a discount; total 10
    assert rate(unit, D(15), precision=USD) == totals("15.00", "5.00", "10.00")
    assert rate(unit, D(7), precision=USD) == totals("7.00")


def test_commitments_on_tiered_and_package_prices() -> None:
    package = price(type="package", amount="10", quantity_per_package="100", minimum_amount="25")
    # 1 package = 10; minimum spend 15; amount 25
    assert rate(package, D(50), precision=USD) == totals("25.00")
    graduated = GRADUATED.model_copy(update={"maximum_amount": D(200)})
    # 610 − 200 = 410 discounted
    assert rate(graduated, D(1500), precision=USD) == totals("610.00", "410.00", "200.00")


# --- discounts -----------------------------------------------------------------------------------


def test_percentage_discount_applies_after_the_maximum_commitment() -> None:
    unit = price(type="unit", amount="1", maximum_amount="10")
    rating = rate_breakdown(unit, D(15), discounts=Discounts(percentage=D(10)), precision=USD)
    # amount 15; maximum discount 5; 10 % of (15 − 5) = 1; discounts 6; total 9
    assert (rating.maximum_discount, rating.percentage_discount) == (D("5.00"), D("1.00"))
    assert rating.totals == totals("15.00", "6.00", "9.00")


def test_percentage_discount_includes_the_minimum_spend() -> None:
    unit = price(type="unit", amount="1", minimum_amount="10")
    # amount 4 + 6 minimum spend = 10; 20 % of 10 = 2; total 8
    assert rate(unit, D(4), discounts=Discounts(percentage=D(20)), precision=USD) == totals("10.00", "2.00")


def test_percentage_discount_on_a_flat_line() -> None:
    flat = price(type="flat", amount="100")
    # charges.md FF-02: 100 with 10 % → discounts 10, total 90
    assert rate(flat, D(1), per_unit_amount=D(100), discounts=Discounts(percentage=D(10)),
                precision=USD) == totals("100.00", "10.00", "90.00")


def test_percentage_discount_rounds_once() -> None:
    unit = price(type="unit", amount="1")
    # 33.333 % of 1 = 0.33333 → 0.33; total 0.67
    assert rate(unit, D(1), discounts=Discounts(percentage=D("33.333")), precision=USD) == totals(
        "1.00", "0.33", "0.67")
    # 12.5 % of 0.20 = 0.025 → 0.03 (half away from zero)
    assert rate(price(type="unit", amount="0.1"), D(2), discounts=Discounts(percentage=D("12.5")),
                precision=USD) == totals("0.20", "0.03", "0.17")


@pytest.mark.parametrize("subject", ["flat", "unit", "graduated", "minimum"])
def test_a_hundred_percent_discount_leaves_total_zero(subject: str) -> None:
    hundred = Discounts(percentage=D(100))
    cases = {
        "flat": (price(type="flat", amount="5"), D(1)),
        "unit": (price(type="unit", amount="3"), D(7)),
        "graduated": (GRADUATED, D(1500)),
        "minimum": (price(type="unit", amount="1", minimum_amount="10"), D(2)),
    }
    the_price, quantity = cases[subject]
    result = rate(the_price, quantity, discounts=hundred, precision=USD)
    assert result.amount > 0
    assert result.discounts == result.amount
    assert result.total == 0


def test_usage_discount_removes_units_before_pricing() -> None:
    unit = price(type="unit", amount="2")
    ten_free = Discounts(usage=D(10))
    # (25 − 10) × 2 = 30
    rating = rate_breakdown(unit, D(25), discounts=ten_free, precision=USD)
    assert (rating.billed_quantity, rating.usage_discount_quantity) == (D(15), D(10))
    assert rating.totals == totals("30.00")
    # never below 0: max(5 − 10, 0) × 2 = 0
    assert rate(unit, D(5), discounts=ten_free, precision=USD) == totals("0.00")
    # graduated: 150 − 50 = 100 units, all in tier 1: 100 × 1 (tier 2's flat price not due)
    assert rate(GRADUATED, D(150), discounts=Discounts(usage=D(50)), precision=USD) == totals("100.00")
    # package: 150 − 50 = 100 → 1 package
    assert rate(PACKAGE, D(150), discounts=Discounts(usage=D(50)), precision=USD) == totals("10.00")


def test_usage_discount_does_not_touch_a_flat_line() -> None:
    flat = price(type="flat", amount="5")
    assert rate(flat, D(1), discounts=Discounts(usage=D(10)), precision=USD) == totals("5.00")


def test_usage_and_percentage_discounts_together() -> None:
    unit = price(type="unit", amount="2", maximum_amount="20")
    # (25 − 10) × 2 = 30; maximum: 10 off; 50 % of 20 = 10; discounts 20, total 10
    assert rate(unit, D(25), discounts=Discounts(usage=D(10), percentage=D(50)),
                precision=USD) == totals("30.00", "20.00", "10.00")


# --- currency precision ----------------------------------------------------------------------------


def test_jpy_rounds_to_whole_yen_half_away_from_zero() -> None:
    # 3 × 0.5 = 1.5 → 2
    assert rate(price(type="unit", amount="0.5"), D(3), precision=JPY) == totals("2")
    # 100 with 12.5 % = 12.5 → 13; total 87
    assert rate(price(type="unit", amount="100"), D(1), discounts=Discounts(percentage=D("12.5")),
                precision=JPY) == totals("100", "13", "87")
    assert str(rate(price(type="unit", amount="100"), D(1), precision=JPY).total) == "100"


def test_kwd_keeps_three_digits() -> None:
    # 3 × 0.0015 = 0.0045 → 0.005
    result = rate(price(type="unit", amount="0.0015"), D(3), precision=KWD)
    assert result == totals("0.005")
    assert str(result.amount) == "0.005"
    assert str(result.credits) == "0.000"


def test_commitments_are_rounded_to_the_currency() -> None:
    unit = price(type="unit", amount="1", minimum_amount="10.005")
    # minimum 10.005 → 10.01; 4 used; minimum spend 6.01
    assert rate_breakdown(unit, D(4), precision=USD).minimum_spend == D("6.01")


# --- inputs ----------------------------------------------------------------------------------------


def test_per_unit_amount_is_only_for_flat_prices() -> None:
    with pytest.raises(BillingValidationError, match="per_unit_amount"):
        rate(price(type="unit", amount="1"), D(1), per_unit_amount=D(1), precision=USD)


@pytest.mark.parametrize("quantity", [D(-1), 1.5, D("NaN"), "3"])
def test_quantity_must_be_a_non_negative_decimal(quantity: object) -> None:
    with pytest.raises(BillingValidationError, match="quantity"):
        rate(price(type="unit", amount="1"), quantity, precision=USD)  # type: ignore[arg-type]


def test_discounts_validate_their_percentage() -> None:
    with pytest.raises(ValidationError, match="percentage"):
        Discounts(percentage=D(101))
    with pytest.raises(ValidationError):
        Discounts(usage=D(-1))
    with pytest.raises(ValidationError):
        Discounts(percentage=0.5)  # type: ignore[arg-type]


# --- totals ----------------------------------------------------------------------------------------


def test_totals_compute_and_check_their_total() -> None:
    assert Totals(amount=D(10), discounts=D(2), credits=D(3), taxes=D(1)).total == D(6)  # 10 − 2 − 3 + 1
    with pytest.raises(ValidationError, match="total"):
        Totals(amount=D(10), discounts=D(2), total=D(9))
    with pytest.raises(ValidationError):
        Totals(amount=D(-1))
    with pytest.raises(ValidationError):
        Totals(amount=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="float"):
        Totals(amount=D(1), total=1.0)  # type: ignore[arg-type]


def test_totals_zero_sum_and_credits() -> None:
    zero = Totals.zero(USD)
    assert [str(getattr(zero, k)) for k in ("amount", "discounts", "credits", "taxes", "total")] == ["0.00"] * 5
    lines = [totals("10.00", "1.00"), totals("5.50"), totals("0.25", "0.25")]
    invoice = Totals.sum(lines, precision=USD)
    # amounts 10 + 5.5 + 0.25 = 15.75; discounts 1 + 0 + 0.25 = 1.25; total 14.50
    assert invoice == totals("15.75", "1.25", "14.50")
    assert Totals.sum([], precision=JPY) == Totals.zero(JPY)
    credited = invoice.with_credits(D("4.004"), precision=USD)
    assert (credited.credits, credited.total) == (D("4.00"), D("10.50"))  # 14.50 − 4.00
