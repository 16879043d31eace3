"""Progressive billing: split children are rated cumulatively and add up to the unsplit line.

A child's share is cumulative(group start → child end) − cumulative(group start → child start); the
minimum commitment counts only on the last child. Expected values are worked out in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from billing.errors import BillingValidationError
from billing.prices import Discounts, Price
from billing.rating import Totals, price_amount_of, rate, rate_split_child, split_child_breakdown

D = Decimal
USD = 2
_PRICE = TypeAdapter(Price)


def price(**fields: Any) -> Any:
    return _PRICE.validate_python(fields)


def totals(amount: str, discounts: str = "0") -> Totals:
    return Totals(amount=D(amount), discounts=D(discounts))


def split(the_price: Any, cumulative: list[str], *, discounts: Discounts | None = None,
          precision: int = USD) -> list[Totals]:
    """Rate the children whose cumulative usage (from the group start) ends at each value."""
    bounds = [D(0)] + [D(value) for value in cumulative]
    return [
        rate_split_child(the_price, quantity_before=bounds[i], quantity_through=bounds[i + 1],
                         is_first_child=i == 0, is_last_child=i == len(cumulative) - 1,
                         discounts=discounts, precision=precision)
        for i in range(len(cumulative))
    ]


def test_graduated_tiers_crossing_a_boundary_between_children() -> None:
    graduated = price(type="tiered", mode="graduated", tiers=[
        {"up_to": "100", "unit_price": "1"}, {"up_to": None, "unit_price": "0.5", "flat_price": "10"}])
    children = split(graduated, ["80", "130", "130"])
    # child 1: 80 × 1 = 80
    # child 2: cumulative(130) − cumulative(80) = (100 + 30 × 0.5 + 10) − 80 = 45
    #          (= 20 units left in tier 1 + 30 × 0.5 + tier 2's flat 10, entered in this child)
    # child 3: no usage: 0
    assert children == [totals("80.00"), totals("45.00"), totals("0.00")]
    assert Totals.sum(children, precision=USD) == rate(graduated, D(130), precision=USD)  # 125


def test_package_counts_packages_over_the_whole_group() -> None:
    package = price(type="package", amount="10", quantity_per_package="100")
    children = split(package, ["30", "150", "160"])
    # ceil(30/100) × 10 = 10; ceil(150/100) × 10 − 10 = 10; ceil(160/100) × 10 − 20 = 0
    assert children == [totals("10.00"), totals("10.00"), totals("0.00")]
    # rating each child on its own would bill 1 + 2 + 1 packages = 40
    assert Totals.sum(children, precision=USD) == rate(package, D(160), precision=USD) == totals("20.00")


def test_usage_discount_applies_once_to_the_group() -> None:
    unit = price(type="unit", amount="1")
    children = split(unit, ["30", "80"], discounts=Discounts(usage=D(50)))
    # child 1: max(30 − 50, 0) = 0 units → 0
    # child 2: max(80 − 50, 0) = 30 units → 30 − 0 = 30
    assert children == [totals("0.00"), totals("30.00")]
    assert Totals.sum(children, precision=USD) == rate(unit, D(80), discounts=Discounts(usage=D(50)),
                                                       precision=USD)


def test_minimum_commitment_only_on_the_last_child() -> None:
    unit = price(type="unit", amount="1", minimum_amount="100")
    first = split_child_breakdown(unit, quantity_before=D(0), quantity_through=D(30), is_last_child=False,
                                  precision=USD)
    last = split_child_breakdown(unit, quantity_before=D(30), quantity_through=D(50), is_last_child=True,
                                 precision=USD)
    # child 1: 30 × 1 = 30, no minimum yet
    assert (first.price_amount, first.minimum_spend) == (D("30.00"), D("0.00"))
    # last child: usage 20; minimum spend 100 − 50 = 50; amount 70
    assert (last.price_amount, last.minimum_spend) == (D("20.00"), D("50.00"))
    assert first.totals + last.totals == rate(unit, D(50), precision=USD) == totals("100.00")


def test_maximum_commitment_caps_the_group() -> None:
    unit = price(type="unit", amount="1", maximum_amount="100")
    children = split(unit, ["80", "130", "150"])
    # cumulative discounts: 0, 130 − 100 = 30, 150 − 100 = 50
    # child 1: 80, no discount; child 2: 50 with 30 off; child 3: 20 with 20 off (the cap is reached)
    assert children == [totals("80.00"), totals("50.00", "30.00"), totals("20.00", "20.00")]
    assert Totals.sum(children, precision=USD) == rate(unit, D(150), precision=USD) == totals("150.00", "50.00")


def test_percentage_discount_is_cumulative_too() -> None:
    unit = price(type="unit", amount="0.05")
    ten_percent = Discounts(percentage=D(10))
    children = split(unit, ["1", "2"], discounts=ten_percent)
    # cumulative: 10 % of 0.05 = 0.005 → 0.01; 10 % of 0.10 = 0.01
    # child 1: 0.05 with 0.01 off; child 2: 0.05 with 0.01 − 0.01 = 0.00 off
    # (10 % of each child on its own would give 0.02 in all, not the line's 0.01)
    assert children == [totals("0.05", "0.01"), totals("0.05", "0.00")]
    assert Totals.sum(children, precision=USD) == rate(unit, D(2), discounts=ten_percent, precision=USD)


def test_first_tier_base_fee_falls_on_the_first_child() -> None:
    base_fee = price(type="tiered", mode="graduated", tiers=[
        {"up_to": "1", "flat_price": "5"}, {"up_to": None, "unit_price": "5"}])
    # C-023: the first child has 0 units and carries the base fee 5
    first = rate_split_child(base_fee, quantity_before=D(0), quantity_through=D(0), is_last_child=False,
                             precision=USD)
    assert first == totals("5.00")
    # the next child (still nothing before it) bills only its units: (5 + 2 × 5) − 5 = 10
    second = rate_split_child(base_fee, quantity_before=D(0), quantity_through=D(3), is_last_child=True,
                              is_first_child=False, precision=USD)
    assert second == totals("10.00")
    assert first + second == rate(base_fee, D(3), precision=USD)


def test_single_child_is_the_unsplit_line() -> None:
    unit = price(type="unit", amount="1", minimum_amount="10")
    assert rate_split_child(unit, quantity_before=D(0), quantity_through=D(4), is_last_child=True,
                            precision=USD) == rate(unit, D(4), precision=USD) == totals("10.00")


def test_volume_tiers_may_not_drop_below_what_was_billed() -> None:
    volume = price(type="tiered", mode="volume", tiers=[
        {"up_to": "100", "unit_price": "1"}, {"up_to": None, "unit_price": "0.5"}])
    # within a tier the children add up: 50 × 1 = 50, then 80 × 1 − 50 = 30
    assert split(volume, ["50", "80"]) == [totals("50.00"), totals("30.00")]
    # 150 × 0.5 = 75 < 100 billed before: the child would be negative
    with pytest.raises(BillingValidationError, match="volume"):
        rate_split_child(volume, quantity_before=D(100), quantity_through=D(150), is_last_child=True,
                         precision=USD)


def test_split_inputs_are_checked() -> None:
    unit = price(type="unit", amount="1")
    with pytest.raises(BillingValidationError, match="quantity_through"):
        rate_split_child(unit, quantity_before=D(5), quantity_through=D(4), is_last_child=True, precision=USD)
    with pytest.raises(BillingValidationError, match="first child"):
        rate_split_child(unit, quantity_before=D(5), quantity_through=D(6), is_last_child=True,
                         is_first_child=True, precision=USD)
    with pytest.raises(BillingValidationError, match="flat"):
        rate_split_child(price(type="flat", amount="5"), quantity_before=D(0), quantity_through=D(1),
                         is_last_child=True, precision=USD)


# --- property: the children of any split add up to the unsplit rating ---------------------------

amounts = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tiers(draw: st.DrawFn) -> list[dict[str, Any]]:
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=400), min_size=0, max_size=3)))
    ups: list[Any] = [str(b) for b in bounds] + [draw(st.sampled_from([None, str(max(bounds, default=0) + 50)]))]
    return [{"up_to": up, "unit_price": str(draw(amounts)), "flat_price": str(draw(amounts))} for up in ups]


@st.composite
def usage_prices(draw: st.DrawFn, modes: tuple[str, ...]) -> Any:
    mode = draw(st.sampled_from(modes))
    if mode == "unit":
        fields: dict[str, Any] = {"type": "unit", "amount": str(draw(amounts))}
    elif mode == "package":
        fields = {"type": "package", "amount": str(draw(amounts)),
                  "quantity_per_package": str(draw(st.decimals(min_value="0.5", max_value=100, places=1)))}
    else:
        fields = {"type": "tiered", "mode": mode, "tiers": draw(tiers())}
    minimum = draw(st.none() | amounts)
    maximum = draw(st.none() | amounts)
    if minimum is not None and maximum is not None and minimum > maximum:
        minimum, maximum = maximum, minimum
    fields.update(minimum_amount=None if minimum is None else str(minimum),
                  maximum_amount=None if maximum is None else str(maximum))
    return price(**fields)


discount_sets = st.builds(
    Discounts,
    percentage=st.none() | st.decimals(min_value=0, max_value=100, places=3),
    usage=st.none() | quantities,
)


@given(
    the_price=usage_prices(("unit", "package", "graduated")),
    increments=st.lists(quantities, min_size=1, max_size=6),
    discounts=st.none() | discount_sets,
    precision=st.integers(min_value=0, max_value=3),
)
def test_children_add_up_to_the_unsplit_line(the_price: Any, increments: list[Decimal],
                                             discounts: Discounts | None, precision: int) -> None:
    cumulative = [str(sum(increments[: i + 1], D(0))) for i in range(len(increments))]
    children = split(the_price, cumulative, discounts=discounts, precision=precision)
    unsplit = rate(the_price, D(cumulative[-1]), discounts=discounts, precision=precision)
    assert Totals.sum(children, precision=precision) == unsplit
    assert all(child.total >= 0 for child in children)
    # every part of every child is a non-negative share; the minimum spend only on the last child
    bounds = [D(0)] + [D(c) for c in cumulative]
    for i in range(len(increments)):
        part = split_child_breakdown(the_price, quantity_before=bounds[i], quantity_through=bounds[i + 1],
                                     is_first_child=i == 0, is_last_child=i == len(increments) - 1,
                                     discounts=discounts, precision=precision)
        assert min(part.price_amount, part.minimum_spend, part.maximum_discount, part.percentage_discount) >= 0
        if i < len(increments) - 1:
            assert part.minimum_spend == 0


@given(
    the_price=usage_prices(("volume",)),
    increments=st.lists(quantities, min_size=1, max_size=6),
    discounts=st.none() | discount_sets,
    precision=st.integers(min_value=0, max_value=3),
)
def test_volume_children_add_up_or_refuse(the_price: Any, increments: list[Decimal],
                                          discounts: Discounts | None, precision: int) -> None:
    cumulative = [sum(increments[: i + 1], D(0)) for i in range(len(increments))]
    try:
        children = split(the_price, [str(c) for c in cumulative], discounts=discounts, precision=precision)
    except BillingValidationError:
        # refused only when the group's cumulative price amount really drops somewhere
        usage_off = discounts.usage if discounts and discounts.usage else D(0)
        billed = [price_amount_of(the_price, max(c - usage_off, D(0))) for c in [D(0)] + cumulative]
        assert any(later < earlier for earlier, later in zip(billed[1:], billed[2:]))
        return
    unsplit = rate(the_price, cumulative[-1], discounts=discounts, precision=precision)
    assert Totals.sum(children, precision=precision) == unsplit
