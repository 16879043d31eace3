"""Prices a rate card can carry: flat, unit, tiered (graduated / volume) and package.

``dynamic`` prices are out of scope and rejected as an unknown price type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from subscriptions.types import Amount

PaymentTerm = Literal["in_advance", "in_arrears"]
_COMMITMENT_FIELDS = ("minimum_amount", "maximum_amount")


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

    @model_validator(mode="before")
    @classmethod
    def _no_commitments(cls, value: object) -> object:
        # The file format lets any price carry minimum/maximum amounts; on a flat price they can only
        # be empty, because the flat amount is the whole charge.
        if isinstance(value, dict) and any(k in value for k in _COMMITMENT_FIELDS):
            for name in _COMMITMENT_FIELDS:
                if value.get(name) is not None:
                    raise ValueError(f"{name}: commitments apply to usage prices only; a flat price bills its amount")
            value = {k: v for k, v in value.items() if k not in _COMMITMENT_FIELDS}
        return value

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

    @model_validator(mode="after")
    def _priced(self) -> "Tier":
        if self.unit_price is None and self.flat_price is None:
            raise ValueError("a tier needs a unit_price, a flat_price or both")
        return self


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
