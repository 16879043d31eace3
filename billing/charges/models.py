"""The persisted shape of charges (charges.md §1): attribution + layered intent + state + realizations.

A flat-fee or usage-based charge has a *base* intent layer (what subscription sync reads and patches)
and an optional *override* layer (customer-facing; the effective intent when present). Credit
purchases have a single, unlayered intent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from billing.lines import ManagedBy
from billing.period import Period
from billing.prices import Discounts, Price, TaxConfig
from billing.types import Amount, UtcDatetime

ChargeType = Literal["flat_fee", "usage_based", "credit_purchase"]
SettlementMode = Literal["credit_only", "credit_then_invoice"]
MetaStatus = Literal["created", "active", "final", "deleted"]
RealizationKind = Literal["run", "credit_grant", "invoice_link", "payment"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChargeSubscriptionReference(_Frozen):
    subscription_id: str
    phase_id: str
    item_id: str


class ProRating(_Frozen):
    enabled: bool = True
    mode: Literal["prorate_prices"] = "prorate_prices"


class _IntentLayer(_Frozen):
    """The mutable fields shared by every layered intent."""

    managed_by: ManagedBy = "subscription"
    annotations: dict[str, Any] = Field(default_factory=dict)
    name: str
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    service_period: Period
    full_service_period: Period
    billing_period: Period
    invoice_at: UtcDatetime
    intent_deleted_at: UtcDatetime | None = None


class FlatFeeIntent(_IntentLayer):
    payment_term: Literal["in_advance", "in_arrears"] = "in_advance"
    percentage_discounts: Discounts | None = None
    pro_rating: ProRating = Field(default_factory=ProRating)
    amount_before_proration: Amount


class UsageBasedIntent(_IntentLayer):
    price: Price
    discounts: Discounts | None = None
    unit_config: dict[str, Any] | None = None


class CreditPurchaseIntent(_Frozen):
    managed_by: ManagedBy = "manual"
    annotations: dict[str, Any] = Field(default_factory=dict)
    name: str
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    service_period: Period
    full_service_period: Period
    billing_period: Period
    credit_amount: Amount
    effective_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    priority: int = 1
    feature_filters: tuple[str, ...] = ()
    #: ``{type: promotional}``, ``{type: external, initial_status}`` or ``{type: invoice}``.
    settlement: dict[str, Any]
    cost_basis: dict[str, Any] | None = None
    key: str | None = None

    @field_validator("credit_amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("credit_amount must be positive")
        return value


class Realization(_Frozen):
    """An appended fact: a realization run, a credit grant, an invoice link or a payment.

    The type-specific content (totals, credit allocations, accrued usage, payment times) stays in
    ``data`` until the charge lifecycles give it a typed shape.
    """

    id: str
    kind: RealizationKind
    type: str | None = None
    service_period: Period | None = None
    line_id: str | None = None
    invoice_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    sequence: int


class _ChargeBase(_Frozen):
    id: str
    namespace: str
    customer_id: str
    currency: str
    tax_config: TaxConfig | None = None
    unique_reference_id: str | None = None
    subscription: ChargeSubscriptionReference | None = None
    status: str = "created"
    advance_after: UtcDatetime | None = None
    #: Derived state (resolved feature id, amount after proration, cost basis, current run pointer).
    state: dict[str, Any] = Field(default_factory=dict)
    realizations: tuple[Realization, ...] = ()
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    sequence: int

    @property
    def meta_status(self) -> str:
        return self.status.split(".", 1)[0]

    @property
    def identity(self) -> str | None:
        return self.unique_reference_id


class FlatFeeCharge(_ChargeBase):
    type: Literal["flat_fee"] = "flat_fee"
    settlement_mode: SettlementMode
    feature_key: str | None = None
    cost_basis: dict[str, Any] | None = None
    base: FlatFeeIntent
    override: FlatFeeIntent | None = None

    @property
    def effective(self) -> FlatFeeIntent:
        return self.override if self.override is not None else self.base


class UsageBasedCharge(_ChargeBase):
    type: Literal["usage_based"] = "usage_based"
    settlement_mode: SettlementMode
    feature_key: str
    cost_basis: dict[str, Any] | None = None
    base: UsageBasedIntent
    override: UsageBasedIntent | None = None

    @property
    def effective(self) -> UsageBasedIntent:
        return self.override if self.override is not None else self.base


class CreditPurchaseCharge(_ChargeBase):
    type: Literal["credit_purchase"] = "credit_purchase"
    intent: CreditPurchaseIntent


Charge = Annotated[
    Union[
        Annotated[FlatFeeCharge, Tag("flat_fee")],
        Annotated[UsageBasedCharge, Tag("usage_based")],
        Annotated[CreditPurchaseCharge, Tag("credit_purchase")],
    ],
    Discriminator("type"),
]
LayeredCharge = FlatFeeCharge | UsageBasedCharge
