"""Hand-built plans for the patch tests: fixed ids (``LINE-…``, ``GROUP-…``), fixed names.

Line and group ids are spelled so that a test can assert that no text contains one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from billing.charges.models import ChargeSubscriptionReference
from billing.invoices import ValidationIssue
from billing.lines import NewLine, SubscriptionReference
from billing.period import Period
from billing.prices import FlatPrice, UnitPrice
from patches.model import (
    Change,
    FlatFeeChargeIntent,
    InvoiceHeader,
    IssueLine,
    IssueUpdate,
    LineCreate,
    LineRef,
    Plan,
    UsageBasedChargeIntent,
)

UTC = dt.timezone.utc
GATHERING_ID = "gat-1"


def at(text: str) -> dt.datetime:
    """``2025-03-10`` or ``2025-03-10T00:00:00.400`` as a UTC instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def period(start: str, end: str) -> Period:
    return Period(start=at(start), end=at(end))


def basis(prefix: str = "") -> str:
    """A 64-hex fingerprint starting with ``prefix``."""
    return (prefix + hashlib.sha256(prefix.encode()).hexdigest())[:64]


def gathering(invoice_id: str = GATHERING_ID) -> InvoiceHeader:
    return InvoiceHeader(id=invoice_id, kind="gathering", status="gathering", invoice_class="gathering", currency="USD")


def draft(invoice_id: str) -> InvoiceHeader:
    return InvoiceHeader(
        id=invoice_id, kind="standard", status="draft.waiting_auto_approval", invoice_class="mutable", currency="USD"
    )


def paid(invoice_id: str) -> InvoiceHeader:
    return InvoiceHeader(id=invoice_id, kind="standard", status="paid", invoice_class="immutable", currency="USD")


def child(line_id: str, invoice_id: str, group_id: str, start: str, end: str) -> LineRef:
    return LineRef(line_id=line_id, invoice_id=invoice_id, split_line_group_id=group_id, service_period=period(start, end))


def standalone(line_id: str, invoice_id: str, identity: str, start: str, end: str) -> LineRef:
    return LineRef(line_id=line_id, invoice_id=invoice_id, identity=identity, service_period=period(start, end))


def new_line(
    *,
    identity: str | None = None,
    group_id: str | None = None,
    service_period: Period,
    invoice_at: dt.datetime,
    price: Any,
    subscription_id: str = "sub-1",
    name: str = "api calls",
) -> NewLine:
    return NewLine(
        name=name,
        service_period=service_period,
        invoice_at=invoice_at,
        price=price,
        child_unique_reference_id=identity,
        split_line_group_id=group_id,
        subscription=SubscriptionReference(
            subscription_id=subscription_id, phase_id="PHASE-1", item_id="ITEM-1", billing_period=service_period
        ),
    )


def create_step(line: NewLine, currency: str = "USD") -> LineCreate:
    return LineCreate(currency=currency, line=line)


def unit(amount: str) -> UnitPrice:
    return UnitPrice(amount=Decimal(amount))


def flat(amount: str, term: str = "in_advance") -> FlatPrice:
    return FlatPrice(amount=Decimal(amount), payment_term=term)


def drift_issue(line_id: str, message: str, severity: str = "warning") -> ValidationIssue:
    return ValidationIssue(
        severity=severity,
        code="immutable_invoice_handling_not_supported",
        message=message,
        component="subscription-sync",
        path=f"lines/{line_id}",
    )


def issue_update(
    invoice_id: str,
    *,
    add: tuple[ValidationIssue, ...] = (),
    remove: tuple[ValidationIssue, ...] = (),
    lines: tuple[IssueLine, ...],
) -> IssueUpdate:
    return IssueUpdate(invoice_id=invoice_id, add=add, remove=remove, lines=lines)


def flat_intent(identity: str, *, subscription_id: str = "sub-1", customer_id: str = "cus-1", **overrides: Any) -> FlatFeeChargeIntent:
    fields: dict[str, Any] = dict(
        name="platform fee",
        customer_id=customer_id,
        currency="USD",
        unique_reference_id=identity,
        subscription=ChargeSubscriptionReference(subscription_id=subscription_id, phase_id="PHASE-1", item_id="ITEM-1"),
        settlement_mode="credit_only",
        service_period=period("2026-01-01", "2026-02-01"),
        full_service_period=period("2026-01-01", "2026-02-01"),
        billing_period=period("2026-01-01", "2026-02-01"),
        invoice_at=at("2026-01-01"),
        payment_term="in_advance",
        amount_before_proration=Decimal("10"),
    )
    fields.update(overrides)
    return FlatFeeChargeIntent(**fields)


def usage_intent(identity: str, *, subscription_id: str = "sub-1", customer_id: str = "cus-1", **overrides: Any) -> UsageBasedChargeIntent:
    fields: dict[str, Any] = dict(
        name="api calls",
        customer_id=customer_id,
        currency="USD",
        unique_reference_id=identity,
        subscription=ChargeSubscriptionReference(subscription_id=subscription_id, phase_id="PHASE-1", item_id="ITEM-2"),
        settlement_mode="credit_then_invoice",
        service_period=period("2026-01-01", "2026-02-01"),
        full_service_period=period("2026-01-01", "2026-02-01"),
        billing_period=period("2026-01-01", "2026-02-01"),
        invoice_at=at("2026-02-01"),
        price=unit("1"),
        feature_key="api-calls",
        unit_config={"operation": "divide", "conversion_factor": "1000", "rounding": "ceiling"},
    )
    fields.update(overrides)
    return UsageBasedChargeIntent(**fields)


def plan(
    *,
    subscription_id: str = "sub-1",
    customer_id: str = "cus-1",
    as_of: str = "2025-03-10",
    basis_prefix: str = "",
    **fields: Any,
) -> Plan:
    return Plan(
        namespace=fields.pop("namespace", "ns"),
        subscription_id=subscription_id,
        customer_id=customer_id,
        currency=fields.pop("currency", "USD"),
        as_of=at(as_of),
        basis=basis(basis_prefix),
        has_billables=fields.pop("has_billables", True),
        **fields,
    )


def change(old: Any, new: Any) -> Change[Any]:
    return Change(old=old, new=new)
