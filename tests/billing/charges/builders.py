"""Builders of new charges for the charges tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.charges.models import ChargeSubscriptionReference
from billing.charges.requests import NewFlatFeeCharge, NewUsageBasedCharge
from billing.period import Period
from billing.prices import UnitPrice
from tests.billing.charges.conftest import CUSTOMER, at

JAN = Period(start=at("2026-01-01T00:00:00"), end=at("2026-02-01T00:00:00"))
SUB = ChargeSubscriptionReference(subscription_id="sub-1", phase_id="phase-1", item_id="item-1")


def flat_fee(amount: str = "100", *, mode: str = "credit_then_invoice", period: Period = JAN,
             full: Period | None = None, term: str = "in_advance", identity: str | None = "sub-1/p/flat/v[0]/period[0]",
             **extra: Any) -> NewFlatFeeCharge:
    fields: dict[str, Any] = dict(
        customer_id=CUSTOMER, currency="USD", unique_reference_id=identity, subscription=SUB,
        settlement_mode=mode, name="flat-fee", service_period=period, full_service_period=full or period,
        billing_period=full or period, invoice_at=period.start if term == "in_advance" else period.end,
        payment_term=term, amount_before_proration=Decimal(amount),
    )
    return NewFlatFeeCharge(**{**fields, **extra})


def usage_based(unit: str = "1", *, mode: str = "credit_then_invoice", period: Period = JAN,
                identity: str | None = "sub-1/p/usage/v[0]/period[0]", **extra: Any) -> NewUsageBasedCharge:
    fields: dict[str, Any] = dict(
        customer_id=CUSTOMER, currency="USD", unique_reference_id=identity, subscription=SUB,
        settlement_mode=mode, name="api-requests", service_period=period, full_service_period=period,
        billing_period=period, invoice_at=period.end, price=UnitPrice(amount=Decimal(unit)),
        feature_key="api-requests",
    )
    return NewUsageBasedCharge(**{**fields, **extra})
