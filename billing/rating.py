"""Rating: a line's price, quantity and discounts become its totals (billing.md §2).

``rate`` rates a whole line; ``rate_split_child`` rates one child of a progressive split-line group
cumulatively, so that the children of a group always add up to the rating of the unsplit line. The
rules, and the decisions the spec leaves open, are written down in ``docs/rating.md``.

Every money value is rounded half away from zero to the currency's minor units at the end of each
rule (price amount, commitment, percentage discount), never in between.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from billing.errors import BillingValidationError
from billing.money import EXACT, exact_arithmetic, round_money
from billing.prices import Discounts, FlatPrice, PackagePrice, Price, TieredPrice, UnitPrice
from billing.types import Amount

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _net(amount: Decimal, discounts: Decimal, credits: Decimal, taxes: Decimal) -> Decimal:
    """``amount − discounts − credits + taxes``, exactly."""
    return EXACT.add(EXACT.subtract(EXACT.subtract(amount, discounts), credits), taxes)


class Totals(BaseModel):
    """A line's (or an invoice's) totals: ``total = amount − discounts − credits + taxes``.

    ``total`` is computed when omitted and checked when given. Components are never negative.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount = ZERO
    discounts: Amount = ZERO
    credits: Amount = ZERO
    taxes: Amount = ZERO
    total: Decimal

    @model_validator(mode="before")
    @classmethod
    def _fill_total(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("total") is None:
            try:
                amount, discounts, credits, taxes = (
                    _as_decimal(data.get(k, ZERO)) for k in ("amount", "discounts", "credits", "taxes")
                )
            except (TypeError, ArithmeticError, ValueError):
                return data  # the field validators report the bad component
            data = {**data, "total": _net(amount, discounts, credits, taxes)}
        return data

    @field_validator("total", mode="before")
    @classmethod
    def _no_float_total(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("total is a decimal, not a float")
        return value

    @model_validator(mode="after")
    def _total_adds_up(self) -> "Totals":
        expected = _net(self.amount, self.discounts, self.credits, self.taxes)
        if self.total != expected:
            raise ValueError(
                f"total {self.total} != amount {self.amount} − discounts {self.discounts}"
                f" − credits {self.credits} + taxes {self.taxes} (= {expected})"
            )
        return self

    @classmethod
    def zero(cls, precision: int) -> "Totals":
        """All zero, written with the currency's minor digits (``0.00`` for USD)."""
        nil = round_money(ZERO, precision)
        return cls(amount=nil, discounts=nil, credits=nil, taxes=nil, total=nil)

    @classmethod
    def sum(cls, items: Iterable["Totals"], *, precision: int) -> "Totals":
        """The invoice totals of its lines' totals (component-wise sums, in the currency's digits)."""
        result = cls.zero(precision)
        for item in items:
            result = result + item
        return result.rounded(precision)

    def __add__(self, other: "Totals") -> "Totals":
        if not isinstance(other, Totals):
            return NotImplemented
        with exact_arithmetic():
            return Totals(
                amount=self.amount + other.amount,
                discounts=self.discounts + other.discounts,
                credits=self.credits + other.credits,
                taxes=self.taxes + other.taxes,
                total=self.total + other.total,
            )

    def rounded(self, precision: int) -> "Totals":
        """Each component in the currency's digits (already-rounded totals stay equal)."""
        return Totals(
            amount=round_money(self.amount, precision),
            discounts=round_money(self.discounts, precision),
            credits=round_money(self.credits, precision),
            taxes=round_money(self.taxes, precision),
        )

    def with_credits(self, credits: Decimal, *, precision: int) -> "Totals":
        """The same totals with ``credits`` allocated (credits apply before tax, charges.md §0.1)."""
        return Totals(amount=self.amount, discounts=self.discounts,
                      credits=round_money(credits, precision), taxes=self.taxes)


class Rating(BaseModel):
    """How a rating was reached; ``totals`` is what a line stores.

    ``amount = price_amount + minimum_spend``; ``discounts = maximum_discount + percentage_discount``.
    For a split child every field is the child's share (cumulative through its end minus cumulative
    before its start).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Units priced (the quantity after the usage discount).
    billed_quantity: Decimal
    #: Units the usage discount removed.
    usage_discount_quantity: Decimal
    price_amount: Decimal
    minimum_spend: Decimal
    maximum_discount: Decimal
    percentage_discount: Decimal

    @property
    def totals(self) -> Totals:
        return Totals(amount=self.price_amount + self.minimum_spend,
                      discounts=self.maximum_discount + self.percentage_discount)

    def minus(self, earlier: "Rating") -> "Rating":
        return Rating(**{name: getattr(self, name) - getattr(earlier, name) for name in Rating.model_fields})


def rate(price: Price, quantity: Decimal, *, per_unit_amount: Decimal | None = None,
         discounts: Discounts | None = None, precision: int) -> Totals:
    """Rate a whole line: ``quantity`` units of ``price`` over its whole service period."""
    return rate_breakdown(price, quantity, per_unit_amount=per_unit_amount, discounts=discounts,
                          precision=precision).totals.rounded(precision)


def rate_breakdown(price: Price, quantity: Decimal, *, per_unit_amount: Decimal | None = None,
                   discounts: Discounts | None = None, precision: int) -> Rating:
    """``rate`` with the parts that make up the totals (minimum spend, commitment discount, …)."""
    quantity = _quantity(quantity, "quantity")
    if isinstance(price, FlatPrice):
        return _rate_flat(price, quantity, per_unit_amount, discounts, precision)
    if per_unit_amount is not None:
        raise BillingValidationError(
            f"per_unit_amount: a {price.type} price is rated from its quantity; per_unit_amount is only"
            f" for flat prices (got {per_unit_amount})"
        )
    return _cumulative(price, quantity, discounts, precision, final=True)


def rate_split_child(price: Price, *, quantity_before: Decimal, quantity_through: Decimal,
                     is_last_child: bool, discounts: Discounts | None = None, precision: int,
                     is_first_child: bool | None = None) -> Totals:
    """Rate one child of a progressive split-line group (billing.md §2, cumulative rule).

    ``quantity_before`` is the usage from the group's start to the child's start, ``quantity_through``
    from the group's start to the child's end. The child's share is
    ``cumulative(quantity_through) − cumulative(quantity_before)``; the minimum commitment counts only
    for the last child. ``is_first_child`` (the child starting at the group start) defaults to
    ``quantity_before == 0``; pass it explicitly when earlier children may have had no usage.
    """
    return split_child_breakdown(
        price, quantity_before=quantity_before, quantity_through=quantity_through,
        is_last_child=is_last_child, discounts=discounts, precision=precision,
        is_first_child=is_first_child,
    ).totals.rounded(precision)


def split_child_breakdown(price: Price, *, quantity_before: Decimal, quantity_through: Decimal,
                          is_last_child: bool, discounts: Discounts | None = None, precision: int,
                          is_first_child: bool | None = None) -> Rating:
    """``rate_split_child`` with the parts that make up the child's totals."""
    if isinstance(price, FlatPrice):
        raise BillingValidationError("price: a flat price is not split progressively (usage prices only)")
    before = _quantity(quantity_before, "quantity_before")
    through = _quantity(quantity_through, "quantity_through")
    if through < before:
        raise BillingValidationError(
            f"quantity_through {through} is below quantity_before {before}: usage is cumulative from the"
            " group start"
        )
    if is_first_child is None:
        is_first_child = before == 0
    if is_first_child and before != 0:
        raise BillingValidationError(f"quantity_before must be 0 for the first child, got {before}")
    upto_end = _cumulative(price, through, discounts, precision, final=is_last_child)
    if is_first_child:
        return upto_end
    child = upto_end.minus(_cumulative(price, before, discounts, precision, final=False))
    negative = [name for name in ("price_amount", "maximum_discount", "percentage_discount")
                if getattr(child, name) < 0]
    if negative:
        raise BillingValidationError(
            f"price: the {price.type} price rates {before}→{through} below what the earlier children already"
            f" billed ({', '.join(negative)} negative); a volume-tiered price that drops to a cheaper tier"
            " cannot be billed progressively"
        )
    return child


# --- the rules ----------------------------------------------------------------------------------


def _rate_flat(price: FlatPrice, quantity: Decimal, per_unit_amount: Decimal | None,
               discounts: Discounts | None, precision: int) -> Rating:
    unit_amount = price.amount if per_unit_amount is None else _quantity(per_unit_amount, "per_unit_amount")
    with exact_arithmetic():
        amount = round_money(unit_amount * quantity, precision)
    # A usage discount removes metered units; a flat line has none, so it does not apply here.
    return Rating(
        billed_quantity=quantity, usage_discount_quantity=ZERO, price_amount=amount,
        minimum_spend=round_money(ZERO, precision), maximum_discount=round_money(ZERO, precision),
        percentage_discount=_percentage_of(amount, discounts, precision),
    )


def _cumulative(price: UnitPrice | TieredPrice | PackagePrice, quantity: Decimal,
                discounts: Discounts | None, precision: int, *, final: bool) -> Rating:
    """The rating of ``quantity`` units counted from the start of the (group) service period."""
    usage_off = discounts.usage if discounts is not None and discounts.usage else ZERO
    with exact_arithmetic():
        billed = max(quantity - usage_off, ZERO)
        price_amount = round_money(price_amount_of(price, billed), precision)
        minimum_spend = round_money(ZERO, precision)
        if final and price.minimum_amount is not None:
            minimum_spend = max(round_money(price.minimum_amount, precision) - price_amount, minimum_spend)
        amount = price_amount + minimum_spend
        maximum_discount = round_money(ZERO, precision)
        if price.maximum_amount is not None:
            maximum_discount = max(amount - round_money(price.maximum_amount, precision), maximum_discount)
        percentage_discount = _percentage_of(amount - maximum_discount, discounts, precision)
        return Rating(
            billed_quantity=billed, usage_discount_quantity=quantity - billed, price_amount=price_amount,
            minimum_spend=minimum_spend, maximum_discount=maximum_discount,
            percentage_discount=percentage_discount,
        )


def _percentage_of(amount: Decimal, discounts: Discounts | None, precision: int) -> Decimal:
    percentage = discounts.percentage if discounts is not None and discounts.percentage else ZERO
    with exact_arithmetic():
        return round_money(amount * percentage / HUNDRED, precision)


def price_amount_of(price: UnitPrice | TieredPrice | PackagePrice, quantity: Decimal) -> Decimal:
    """The unrounded amount of ``quantity`` units under a usage price (billing.md §2 table)."""
    with exact_arithmetic():
        if isinstance(price, UnitPrice):
            return quantity * price.amount
        if isinstance(price, PackagePrice):
            packages = quantity // price.quantity_per_package
            if quantity % price.quantity_per_package:
                packages += 1
            return packages * price.amount
        if isinstance(price, TieredPrice):
            if price.mode == "graduated":
                return _graduated(price, quantity)
            return _volume(price, quantity)
    raise BillingValidationError(f"price: cannot rate a price of type {getattr(price, 'type', price)!r}")


def _upper_bounds(price: TieredPrice) -> list[Decimal | None]:
    """Each tier's upper bound; the last tier is open whatever its ``up_to`` says."""
    bounds: list[Decimal | None] = [tier.up_to for tier in price.tiers]
    bounds[-1] = None
    return bounds


def _graduated(price: TieredPrice, quantity: Decimal) -> Decimal:
    """Units in each tier at its unit price, plus the flat price of every tier reached.

    Tier *i* covers ``(up_to[i-1], up_to[i]]``; the first tier is reached from quantity 0 on (its flat
    price is the line's base fee), a later one once a unit falls in it.
    """
    total = ZERO
    lower = ZERO
    for index, (tier, upper) in enumerate(zip(price.tiers, _upper_bounds(price))):
        units = max((quantity if upper is None else min(quantity, upper)) - lower, ZERO)
        if units > 0 or index == 0:
            total += units * (tier.unit_price or ZERO) + (tier.flat_price or ZERO)
        if upper is None or quantity <= upper:
            break
        lower = upper
    return total


def _volume(price: TieredPrice, quantity: Decimal) -> Decimal:
    """The whole quantity at the price of the tier that contains it; nothing for quantity 0."""
    if quantity == 0:
        return ZERO
    for tier, upper in zip(price.tiers, _upper_bounds(price)):
        if upper is None or quantity <= upper:
            return quantity * (tier.unit_price or ZERO) + (tier.flat_price or ZERO)
    raise AssertionError("the last tier is open")  # pragma: no cover


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, (float, bool)):
        raise TypeError(f"not a decimal: {value!r}")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _quantity(value: Decimal, field: str) -> Decimal:
    if isinstance(value, float) or isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise BillingValidationError(f"{field} must be a Decimal, got {type(value).__name__} {value!r}")
    value = Decimal(value)
    if not value.is_finite() or value < 0:
        raise BillingValidationError(f"{field} must be a finite decimal ≥ 0, got {value}")
    return value
