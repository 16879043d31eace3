"""Invoice lines: what a gathering or standard invoice bills.

A line is a *flat fee* iff its price is ``flat`` (``per_unit_amount`` holds the prorated amount, the
quantity is 1); every other price makes it *usage based* (its ``quantity`` is metered). Lines are
frozen values: an update is a ``model_copy`` handed back to the store.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from billing.period import Period
from billing.prices import Discounts, FlatPrice, Price, TaxConfig
from billing.rating import Totals
from billing.types import Amount, UtcDatetime

ManagedBy = Literal["subscription", "system", "manual"]
LineKind = Literal["flat_fee", "usage_based"]
LineEngineType = Literal["invoicing", "charge_flatfee", "charge_usagebased", "charge_creditpurchase"]
ChangeSource = Literal["api", "system"]

#: Sync must not touch this line (or, on any child, its hierarchy).
ANNOTATION_SYNC_IGNORE = "billing.subscription.sync.ignore"
#: The next period starts where this one ended (continuity correction, reconciler §2.6).
ANNOTATION_FORCE_CONTINUOUS_LINES = "billing.subscription.sync.force-continuous-lines"

ZERO_TOTALS = Totals(
    amount=Decimal(0), discounts=Decimal(0), credits=Decimal(0), taxes=Decimal(0), total=Decimal(0)
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubscriptionReference(_Frozen):
    """Which subscription item period produced a line (written at creation, never reconciled)."""

    subscription_id: str
    phase_id: str
    item_id: str
    billing_period: Period


class LineContent(_Frozen):
    """The fields a caller writes; shared by new lines and stored lines."""

    name: str
    description: str | None = None
    managed_by: ManagedBy = "subscription"
    annotations: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    service_period: Period
    invoice_at: UtcDatetime
    price: Price
    #: Flat fees: the (prorated) amount for quantity 1. Usage lines: None.
    per_unit_amount: Amount | None = None
    #: Flat fees: 1. Usage lines: the metered quantity (None until snapshotted on a standard invoice).
    quantity: Amount | None = None
    feature_key: str | None = None
    rate_card_discounts: Discounts | None = None
    tax_config: TaxConfig | None = None
    #: The line's identity (reconciler §1.5); None for split children and manual lines.
    child_unique_reference_id: str | None = None
    subscription: SubscriptionReference | None = None
    split_line_group_id: str | None = None
    charge_id: str | None = None
    engine: LineEngineType = "invoicing"

    @model_validator(mode="after")
    def _flat_fee_shape(self) -> "LineContent":
        if isinstance(self.price, FlatPrice):
            if self.per_unit_amount is None:
                object.__setattr__(self, "per_unit_amount", self.price.amount)
            if self.quantity is None:
                object.__setattr__(self, "quantity", Decimal(1))
        elif self.per_unit_amount is not None:
            raise ValueError(f"line {self.name!r}: per_unit_amount is for flat fees only (price {self.price.type})")
        if self.child_unique_reference_id == "":
            raise ValueError(f"line {self.name!r}: child_unique_reference_id must be non-empty when set")
        return self

    @property
    def kind(self) -> LineKind:
        return "flat_fee" if isinstance(self.price, FlatPrice) else "usage_based"

    @property
    def is_flat_fee(self) -> bool:
        return isinstance(self.price, FlatPrice)

    @property
    def identity(self) -> str | None:
        return self.child_unique_reference_id

    def annotation(self, key: str) -> bool:
        return self.annotations.get(key) is True


class NewLine(LineContent):
    """A pending line to add to the customer's gathering invoice (``create_pending_invoice_lines``)."""


class Line(LineContent):
    """A stored line. ``totals`` are the rated totals (zero for a gathering usage line not yet metered)."""

    id: str
    namespace: str
    invoice_id: str
    customer_id: str
    currency: str
    totals: Totals = ZERO_TOTALS
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    sequence: int

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None


class GatheringLine(Line):
    """A pending line on a gathering invoice; ``invoice_at`` is when it becomes collectable."""


class StandardLine(Line):
    """A line on a standard invoice."""


def line_sort_key(line: Line) -> tuple:
    """The deterministic line order: service period start, end, then identity and id."""
    return (line.service_period.start, line.service_period.end, line.child_unique_reference_id or "", line.id)
