"""Prices of invoice lines and charges: flat, unit, tiered (graduated / volume) and package.

The same vocabulary as the subscription rate cards (the reconciler copies a rate-card price onto a
line field by field); billing keeps its own copy because it depends on no other package.

``dynamic`` prices are out of scope and rejected as an unknown price type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from billing.types import Amount

PaymentTerm = Literal["in_advance", "in_arrears"]


class _PriceBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A custom currency code (from the scenario's ``currencies``); None: the plan's currency.
    currency: str | None = None


class _Commitments(BaseModel):
    """Minimum / maximum spend over a line's whole service period (usage prices only)."""

    minimum_amount: Amount | None = None
    maximum_amount: Amount | None = None

    @model_validator(mode="after")
    def _min_le_max(self):  # type: ignore[no-untyped-def]
        if self.minimum_amount is not None and self.maximum_amount is not None:
            if self.minimum_amount > self.maximum_amount:
                raise ValueError("minimum_amount exceeds maximum_amount")
        return self


class FlatPrice(_PriceBase):
    type: Literal["flat"] = "flat"
    amount: Amount
    payment_term: PaymentTerm = "in_advance"

    @field_validator("payment_term", mode="before")
    @classmethod
    def _default_term(cls, value: object) -> object:
        # Q7: a missing or empty payment term is normalised to in_advance when parsed.
        return "in_advance" if value in (None, "") else value


class UnitPrice(_PriceBase, _Commitments):
    type: Literal["unit"] = "unit"
    amount: Amount


class Tier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to: Amount | None = None
    unit_price: Amount | None = None
    flat_price: Amount | None = None


class TieredPrice(_PriceBase, _Commitments):
    type: Literal["tiered"] = "tiered"
    mode: Literal["graduated", "volume"]
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers_ascending(self) -> "TieredPrice":
        bounds = [t.up_to for t in self.tiers]
        if any(b is None for b in bounds[:-1]):
            raise ValueError("only the last tier may be open-ended (up_to: null)")
        finite = [b for b in bounds if b is not None]
        if any(a >= b for a, b in zip(finite, finite[1:])):
            raise ValueError("tier bounds (up_to) must be strictly ascending")
        return self


class PackagePrice(_PriceBase, _Commitments):
    type: Literal["package"] = "package"
    amount: Amount
    quantity_per_package: Amount

    @field_validator("quantity_per_package")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("quantity_per_package must be positive")
        return value


Price = Annotated[
    Union[
        Annotated[FlatPrice, Tag("flat")],
        Annotated[UnitPrice, Tag("unit")],
        Annotated[TieredPrice, Tag("tiered")],
        Annotated[PackagePrice, Tag("package")],
    ],
    Discriminator("type"),
]
UsagePrice = UnitPrice | TieredPrice | PackagePrice


def is_flat(price: object) -> bool:
    return isinstance(price, FlatPrice)


def payment_term_of(price: object) -> PaymentTerm:
    """Flat prices carry their term; every usage price counts as in arrears."""
    return price.payment_term if isinstance(price, FlatPrice) else "in_arrears"


TaxBehavior = Literal["exclusive", "inclusive", "none"]


class TaxConfig(BaseModel):
    """A line's tax configuration, copied from the rate card. Tax is never calculated (taxes are 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    behavior: TaxBehavior | None = None
    code: str | None = None


class Discounts(BaseModel):
    """Rate-card discounts on a line: ``percentage`` (0–100) of the amount, ``usage`` units removed.

    How they apply is fixed by ``billing.rating`` (``docs/rating.md``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    percentage: Amount | None = None
    usage: Amount | None = None

    @field_validator("percentage")
    @classmethod
    def _at_most_100(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value > 100:
            raise ValueError(f"percentage discount must be between 0 and 100, got {value}")
        return value

    @property
    def is_empty(self) -> bool:
        return not self.percentage and not self.usage
