"""The credit grant API over purchases (charges.md §5.8): a grant request becomes a purchase intent, and
a purchase is shown as a grant with its purchase block.

| grant status | when |
|---|---|
| ``voided`` | the grant was voided (manually, §5.7, or with its invoice, §5.6.11) |
| ``expired`` | ``expires_at ≤ now`` |
| ``pending`` | the purchase is still ``created`` (nothing granted yet) |
| ``active`` | any ``active*`` or ``final`` status |

List filters: ``active`` = meta active or final, not voided, not expired; ``pending`` = meta created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from billing.credit_purchases.cost_basis import fiat_amount
from billing.credit_purchases.errors import PurchaseValidationError
from billing.credit_purchases.models import Decimalish, PurchaseIntent, _Frozen
from billing.credit_purchases.purchase import CreditPurchase
from billing.customers import add_duration
from billing.prices import TaxConfig
from billing.types import UtcDatetime

GrantStatus = Literal["pending", "active", "voided", "expired"]
FundingMethod = Literal["none", "invoice", "external"]
SettlementStatus = Literal["pending", "authorized", "failed", "settled", "voided"]


class PurchaseTerms(_Frozen):
    currency: str
    per_unit_cost_basis: Decimalish = Decimal(1)
    availability_policy: Literal["on_creation", "on_authorization", "on_settlement"] | None = None


class CreditGrantRequest(_Frozen):
    """``POST`` of a credit grant for a customer (§5.8)."""

    name: str = Field(min_length=1)
    amount: Decimalish
    currency: str
    funding_method: FundingMethod = "none"
    purchase: PurchaseTerms | None = None
    effective_at: UtcDatetime | None = None
    expires_after: str | None = None
    priority: int = 1
    feature_filters: tuple[str, ...] = ()
    key: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    tax_config: TaxConfig | None = None

    @field_validator("expires_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("P"):
            raise ValueError(f"expires_after must be an ISO 8601 duration, got {value!r}")
        return value


_INITIAL_STATUS = {None: "created", "on_creation": "created", "on_authorization": "authorized",
                   "on_settlement": "settled"}


def grant_intent(customer_id: str, request: CreditGrantRequest, *, now: dt.datetime) -> PurchaseIntent:
    """The purchase intent of a grant request: periods ``{effective_at ?? now}``, ``expires_at =
    (effective_at ?? now) + expires_after``, a fiat cost basis (default 1), ``managed_by = manual``."""
    def invalid(message: str, field: str) -> PurchaseValidationError:
        return PurchaseValidationError(message, field=field)

    if request.amount <= 0:
        raise invalid(f"amount must be > 0, got {request.amount}", "amount")
    at = request.effective_at if request.effective_at is not None else now
    expires_at = None
    if request.expires_after is not None:
        expires_at = add_duration(at, request.expires_after)
        if expires_at <= at:
            raise invalid(f"expires_after must be positive, got {request.expires_after}", "expires_after")
    settlement: dict[str, Any] = {"type": "promotional"}
    cost_basis = None
    if request.funding_method != "none":
        terms = request.purchase
        if terms is None:
            raise invalid("a funded grant needs purchase terms", "purchase")
        if terms.currency != request.currency:
            raise invalid(f"purchase currency {terms.currency} must equal the grant currency {request.currency}",
                          "purchase.currency")
        if terms.per_unit_cost_basis <= 0:
            raise invalid(f"per_unit_cost_basis must be > 0, got {terms.per_unit_cost_basis}",
                          "purchase.per_unit_cost_basis")
        settlement = {"type": request.funding_method}
        if request.funding_method == "external":
            settlement["initial_status"] = _INITIAL_STATUS[terms.availability_policy]
        cost_basis = {"type": "fiat", "rate": terms.per_unit_cost_basis}
    return PurchaseIntent(
        customer_id=customer_id, currency=request.currency, name=request.name, description=request.description,
        credit_amount=request.amount, settlement=settlement, cost_basis=cost_basis, managed_by="manual",
        effective_at=at, expires_at=expires_at, priority=request.priority, feature_filters=request.feature_filters,
        key=request.key, metadata=dict(request.labels), tax_config=request.tax_config,
    )


class PurchaseBlock(_Frozen):
    amount: Decimal
    currency: str
    per_unit_cost_basis: Decimal | None
    settlement_status: SettlementStatus
    availability_policy: Literal["on_creation", "on_authorization", "on_settlement"] | None = None


class CreditGrantView(_Frozen):
    id: str
    name: str
    amount: Decimal
    currency: str
    status: GrantStatus
    funding_method: FundingMethod
    effective_at: UtcDatetime
    expires_at: UtcDatetime | None = None
    priority: int
    feature_filters: tuple[str, ...]
    voided_at: UtcDatetime | None = None
    purchase: PurchaseBlock | None = None


def grant_status(purchase: CreditPurchase, now: dt.datetime) -> GrantStatus:
    if purchase.grant_voided_at is not None:
        return "voided"
    expires_at = purchase.intent.expires_at
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "pending" if purchase.meta_status == "created" else "active"


def grant_view(purchase: CreditPurchase, now: dt.datetime, custom: Mapping[str, int] | None = None) -> CreditGrantView:
    intent = purchase.intent
    block = None
    if purchase.settlement_type != "promotional":
        resolved = purchase.resolved_cost_basis
        fiat = purchase.fiat_currency
        assert fiat is not None
        settlement = intent.settlement
        block = PurchaseBlock(
            amount=Decimal(0) if resolved is None else fiat_amount(purchase.credit_amount, resolved.rate, fiat, custom),
            currency=fiat,
            per_unit_cost_basis=None if resolved is None else resolved.rate,
            settlement_status="pending" if purchase.payment is None else purchase.payment.status,
            availability_policy={"created": "on_creation", "authorized": "on_authorization",
                                 "settled": "on_settlement"}[settlement.initial_status]
            if settlement.type == "external" else None,
        )
    return CreditGrantView(
        id=purchase.id, name=intent.name, amount=purchase.credit_amount, currency=purchase.currency,
        status=grant_status(purchase, now),
        funding_method="none" if purchase.settlement_type == "promotional" else purchase.settlement_type,
        effective_at=purchase.service_period.end, expires_at=intent.expires_at, priority=intent.priority,
        feature_filters=intent.feature_filters, voided_at=purchase.grant_voided_at, purchase=block,
    )


def listed(purchase: CreditPurchase, now: dt.datetime, status_filter: Literal["active", "pending"] | None) -> bool:
    """Whether the grant list with ``status_filter`` shows the purchase."""
    if status_filter is None:
        return True
    if status_filter == "pending":
        return purchase.meta_status == "created"
    return purchase.meta_status in ("active", "final") and grant_status(purchase, now) == "active"
