"""Builders for ledger tests: credit-purchase charges as the charge lifecycles hand them to the port,
and bare references for consuming charges."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from billing.charges.models import CreditPurchaseCharge, CreditPurchaseIntent
from billing.ids import new_id
from billing.ledger import LedgerChargeRef
from billing.period import Period

NS = "ns"
CUSTOMER = "cust-1"
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
_sequence = itertools.count(1)


def at(day: int = 1, month: int = 1, hour: int = 0, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def purchase(
    amount: str | Decimal,
    *,
    settlement: str = "promotional",
    currency: str = "USD",
    cost_basis: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    effective_at: dt.datetime = T0,
    expires_at: dt.datetime | None = None,
    priority: int = 1,
    feature_filters: tuple[str, ...] = (),
    customer_id: str = CUSTOMER,
    namespace: str = NS,
    charge_id: str | None = None,
    initial_status: str = "created",
) -> CreditPurchaseCharge:
    """A credit purchase whose periods are pinned to ``effective_at``; a payment-backed fiat purchase
    defaults to a fiat cost basis of 1."""
    if settlement != "promotional" and cost_basis is None:
        cost_basis = {"type": "fiat", "rate": "1"}
    period = Period(start=effective_at, end=effective_at)
    settlement_doc: dict[str, Any] = {"type": settlement}
    if settlement == "external":
        settlement_doc["initial_status"] = initial_status
    return CreditPurchaseCharge(
        id=charge_id or new_id(),
        namespace=namespace,
        customer_id=customer_id,
        currency=currency,
        status="created",
        state=dict(state or {}),
        created_at=T0,
        updated_at=T0,
        sequence=next(_sequence),
        intent=CreditPurchaseIntent(
            name="Credit Purchase",
            service_period=period,
            full_service_period=period,
            billing_period=period,
            credit_amount=Decimal(str(amount)),
            effective_at=effective_at,
            expires_at=expires_at,
            priority=priority,
            feature_filters=feature_filters,
            settlement=settlement_doc,
            cost_basis=cost_basis,
        ),
    )


def consumer(currency: str = "USD", *, customer_id: str = CUSTOMER, namespace: str = NS, charge_id: str | None = None) -> LedgerChargeRef:
    """A flat-fee or usage charge as far as the ledger sees it."""
    return LedgerChargeRef(id=charge_id or new_id(), namespace=namespace, customer_id=customer_id, currency=currency)
