"""The intents of new charges that sync creates (reconciler.md §3.13, charges.md §7.2).

Each intent is billing's base-layer intent (``FlatFeeIntent`` / ``UsageBasedIntent``: periods,
``invoice_at``, price data, name, annotations, metadata) plus the immutable attribution the charges
domain needs at creation (customer, currency, identity, tax configuration, subscription reference,
settlement mode, feature key). Sync creates only subscription-managed, live intents.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Discriminator, Tag, model_validator

from billing.charges.models import ChargeSubscriptionReference, FlatFeeIntent, SettlementMode, UsageBasedIntent
from billing.prices import FlatPrice, TaxConfig
from patches.model.base import Value


class _Attribution(Value):
    customer_id: str
    currency: str
    unique_reference_id: str
    tax_config: TaxConfig | None = None
    subscription: ChargeSubscriptionReference
    settlement_mode: SettlementMode

    @model_validator(mode="after")
    def _sync_intent(self) -> "_Attribution":
        what = f"charge intent {self.unique_reference_id!r}"
        if not self.unique_reference_id:
            raise ValueError("charge intent: unique_reference_id (the identity) must be non-empty")
        if not self.customer_id:
            raise ValueError(f"{what}: customer_id must be non-empty")
        if not self.currency:
            raise ValueError(f"{what}: currency must be non-empty")
        if self.managed_by != "subscription":  # type: ignore[attr-defined]
            raise ValueError(f"{what}: sync creates subscription-managed intents, got {self.managed_by}")  # type: ignore[attr-defined]
        if self.intent_deleted_at is not None:  # type: ignore[attr-defined]
            raise ValueError(f"{what}: a new intent cannot be deleted")
        for field in ("service_period", "full_service_period", "billing_period"):
            period = getattr(self, field)
            if period.is_inverted:
                raise ValueError(f"{what}: {field} {period} ends before it starts")
        return self


class FlatFeeChargeIntent(_Attribution, FlatFeeIntent):
    """A new flat-fee charge: ``amount_before_proration`` is the rate-card amount, not prorated."""

    type: Literal["flat_fee"] = "flat_fee"
    feature_key: str | None = None


class UsageBasedChargeIntent(_Attribution, UsageBasedIntent):
    """A new usage-based charge: the rate-card price, all discounts, a copy of the unit config."""

    type: Literal["usage_based"] = "usage_based"
    #: The rate card's feature key, the empty string when it has none (§3.13).
    feature_key: str = ""

    @model_validator(mode="after")
    def _usage_price(self) -> "UsageBasedChargeIntent":
        if isinstance(self.price, FlatPrice):
            raise ValueError(f"charge intent {self.unique_reference_id!r}: a usage-based intent needs a usage price")
        return self


ChargeIntent = Annotated[
    Union[
        Annotated[FlatFeeChargeIntent, Tag("flat_fee")],
        Annotated[UsageBasedChargeIntent, Tag("usage_based")],
    ],
    Discriminator("type"),
]
