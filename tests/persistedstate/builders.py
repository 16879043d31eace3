"""Builders for the persistedstate tests: billing models for unit tests, a fake read port, and
store set-up through billing operations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from billing.charges.models import (
    ChargeSubscriptionReference,
    CreditPurchaseCharge,
    CreditPurchaseIntent,
    FlatFeeCharge,
    FlatFeeIntent,
    UsageBasedCharge,
    UsageBasedIntent,
)
from billing.customers import BillingProfile, InvoicingConfig
from billing.ids import new_id
from billing.invoices import Invoice, InvoiceHeader
from billing.lines import GatheringLine, Line, NewLine, StandardLine, SubscriptionReference
from billing.period import Period
from billing.split_lines import SplitLineChild, SplitLineGroup, SplitLineHierarchy

UTC = dt.timezone.utc
NS = "ns"
CUSTOMER = "cust-ps"
OTHER_CUSTOMER = "cust-other"
SUB = "sub-ps"
OTHER_SUB = "sub-other"


def at(month: int, day: int = 1, hour: int = 0, *, micro: int = 0) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, tzinfo=UTC).replace(microsecond=micro)


def period(start: dt.datetime, end: dt.datetime) -> Period:
    return Period(start=start, end=end)


JANUARY = period(at(1), at(2))


def ident(item: str = "fee", index: int = 0, subscription_id: str = SUB, phase: str = "default") -> str:
    return f"{subscription_id}/{phase}/{item}/v[0]/period[{index}]"


def ref(billing_period: Period = JANUARY, subscription_id: str = SUB) -> SubscriptionReference:
    return SubscriptionReference(subscription_id=subscription_id, phase_id="phase-1", item_id="item-1",
                                 billing_period=billing_period)


FLAT = {"type": "flat", "amount": "10", "payment_term": "in_advance"}
UNIT = {"type": "unit", "amount": "0.5"}


# -- new lines for the store ------------------------------------------------------------------------

def new_flat(identity: str | None = None, *, service_period: Period = JANUARY, subscription_id: str = SUB,
             **fields: Any) -> NewLine:
    return NewLine(
        name=fields.pop("name", "fee"),
        service_period=service_period,
        invoice_at=fields.pop("invoice_at", service_period.start),
        price=fields.pop("price", FLAT),
        child_unique_reference_id=identity,
        subscription=fields.pop("subscription", ref(service_period, subscription_id)),
        **fields,
    )


def new_usage(identity: str | None = None, *, service_period: Period = JANUARY, subscription_id: str = SUB,
              **fields: Any) -> NewLine:
    return NewLine(
        name=fields.pop("name", "api"),
        service_period=service_period,
        invoice_at=fields.pop("invoice_at", service_period.end),
        price=fields.pop("price", UNIT),
        feature_key=fields.pop("feature_key", "api"),
        child_unique_reference_id=identity,
        subscription=fields.pop("subscription", ref(service_period, subscription_id)),
        **fields,
    )


def monthly(index: int) -> Period:
    """The ``index``-th month of 2024 as a period (0 = January)."""
    return period(at(1 + index), at(2 + index) if index < 11 else dt.datetime(2025, 1, 1, tzinfo=UTC))


def daily(index: int) -> Period:
    start = at(1) + dt.timedelta(days=index)
    return period(start, start + dt.timedelta(days=1))


def make_customer(billing: Any, customer_id: str = CUSTOMER, *, progressive: bool = False) -> Any:
    profile = BillingProfile(invoicing=InvoicingConfig(progressive_billing=progressive))
    customer = billing.create_customer(NS, customer_id.replace("_", "-"), customer_id=customer_id,
                                       billing_profile=profile)
    return customer


# -- stored models for unit tests -------------------------------------------------------------------

def stored_line(identity: str | None = None, *, kind: str = "gathering", service_period: Period = JANUARY,
                invoice_id: str = "inv-g", line_id: str | None = None, **fields: Any) -> Line:
    cls = GatheringLine if kind == "gathering" else StandardLine
    price = fields.pop("price", FLAT)
    return cls(
        id=line_id or new_id(),
        namespace=fields.pop("namespace", NS),
        invoice_id=invoice_id,
        customer_id=fields.pop("customer_id", CUSTOMER),
        currency="USD",
        name=fields.pop("name", "fee"),
        service_period=service_period,
        invoice_at=fields.pop("invoice_at", service_period.start),
        price=price,
        child_unique_reference_id=identity,
        subscription=fields.pop("subscription", ref(service_period)),
        created_at=at(1),
        updated_at=fields.pop("updated_at", at(1)),
        sequence=fields.pop("sequence", 1),
        **fields,
    )


def header(invoice_id: str, *, kind: str = "gathering", status: str | None = None, immutable: bool = False,
           deleted_at: dt.datetime | None = None) -> InvoiceHeader:
    return InvoiceHeader(
        id=invoice_id, namespace=NS, customer_id=CUSTOMER, kind=kind,
        status=status or ("gathering" if kind == "gathering" else "draft.waiting_auto_approval"),
        immutable=immutable, currency="USD", created_at=at(1), updated_at=at(1), deleted_at=deleted_at, sequence=1,
    )


def invoice(invoice_id: str, *, kind: str = "gathering", status: str | None = None, immutable: bool = False,
            deleted_at: dt.datetime | None = None, line_ids: Sequence[str] = ()) -> Invoice:
    base = header(invoice_id, kind=kind, status=status, immutable=immutable, deleted_at=deleted_at)
    return Invoice(**base.model_dump(), line_ids=tuple(line_ids), validation_issues=())


def group(identity: str | None, *, service_period: Period = JANUARY, group_id: str | None = None,
          deleted_at: dt.datetime | None = None) -> SplitLineGroup:
    return SplitLineGroup(
        id=group_id or new_id(), namespace=NS, customer_id=CUSTOMER, currency="USD", service_period=service_period,
        unique_reference_id=identity, price=UNIT, feature_key="api", subscription=ref(service_period), name="api",
        created_at=at(1), updated_at=at(1), deleted_at=deleted_at, sequence=1,
    )


def child(start: dt.datetime, end: dt.datetime, *, group_id: str, invoice_id: str = "inv-g",
          kind: str = "gathering", line_id: str | None = None, **fields: Any) -> SplitLineChild:
    line = stored_line(None, kind=kind, service_period=period(start, end), invoice_id=invoice_id, line_id=line_id,
                       price=UNIT, feature_key="api", split_line_group_id=group_id, **fields)
    return SplitLineChild(line=line, invoice=header(invoice_id, kind=kind))


def hierarchy(identity: str | None, children: Iterable[tuple[dt.datetime, dt.datetime, dict[str, Any]]] = (),
              *, service_period: Period = JANUARY, group_id: str = "grp-1") -> SplitLineHierarchy:
    g = group(identity, service_period=service_period, group_id=group_id)
    return SplitLineHierarchy(
        group=g, children=tuple(child(start, end, group_id=g.id, **fields) for start, end, fields in children)
    )


def charge_ref(subscription_id: str = SUB) -> ChargeSubscriptionReference:
    return ChargeSubscriptionReference(subscription_id=subscription_id, phase_id="phase-1", item_id="item-1")


def flat_charge(identity: str | None = None, *, service_period: Period = JANUARY, customer_id: str = CUSTOMER,
                subscription_id: str = SUB, **base_fields: Any) -> FlatFeeCharge:
    base = FlatFeeIntent(
        name="fee", service_period=service_period,
        full_service_period=base_fields.pop("full_service_period", service_period),
        billing_period=base_fields.pop("billing_period", service_period), invoice_at=service_period.start,
        amount_before_proration=Decimal("10"), **base_fields,
    )
    return FlatFeeCharge(
        id=new_id(), namespace=NS, customer_id=customer_id, currency="USD", unique_reference_id=identity,
        subscription=charge_ref(subscription_id), settlement_mode="credit_only", base=base,
        created_at=at(1), updated_at=at(1), sequence=0,
    )


def usage_charge(identity: str | None = None, *, service_period: Period = JANUARY, customer_id: str = CUSTOMER,
                 price: dict[str, Any] | None = None, feature_key: str = "api", **base_fields: Any) -> UsageBasedCharge:
    base = UsageBasedIntent(
        name="api", service_period=service_period,
        full_service_period=base_fields.pop("full_service_period", service_period),
        billing_period=base_fields.pop("billing_period", service_period), invoice_at=service_period.end,
        price=price or UNIT, **base_fields,
    )
    return UsageBasedCharge(
        id=new_id(), namespace=NS, customer_id=customer_id, currency="USD", unique_reference_id=identity,
        subscription=charge_ref(), settlement_mode="credit_then_invoice", feature_key=feature_key, base=base,
        created_at=at(1), updated_at=at(1), sequence=0,
    )


def credit_purchase(identity: str | None = None) -> CreditPurchaseCharge:
    intent = CreditPurchaseIntent(
        name="credits", service_period=JANUARY, full_service_period=JANUARY, billing_period=JANUARY,
        credit_amount=Decimal("100"), settlement={"type": "promotional"},
    )
    return CreditPurchaseCharge(
        id=new_id(), namespace=NS, customer_id=CUSTOMER, currency="USD", unique_reference_id=identity,
        subscription=charge_ref(), intent=intent, created_at=at(1), updated_at=at(1), sequence=0,
    )


# -- a fake read port -------------------------------------------------------------------------------

class FakeBilling:
    """The billing read port over lists, recording the calls it answers."""

    def __init__(self, *, standard: Sequence[Line] = (), gathering: Sequence[Line] = (),
                 hierarchies: Sequence[SplitLineHierarchy] = (), invoices: Sequence[Invoice] = ()) -> None:
        self.standard = list(standard)
        self.gathering = list(gathering)
        self.hierarchies = list(hierarchies)
        self.invoices = {inv.id: inv for inv in invoices}
        self.calls: list[tuple[str, Any]] = []

    def get_standard_lines_for_subscription(self, namespace: str, subscription_id: str) -> list[Line]:
        self.calls.append(("standard", (namespace, subscription_id)))
        return list(self.standard)

    def get_gathering_lines_for_subscription(self, namespace: str, subscription_id: str) -> list[Line]:
        self.calls.append(("gathering", (namespace, subscription_id)))
        return list(self.gathering)

    def get_split_line_hierarchies_for_subscription(self, namespace: str, subscription_id: str) -> list[SplitLineHierarchy]:
        self.calls.append(("hierarchies", (namespace, subscription_id)))
        return list(self.hierarchies)

    def list_invoices(self, namespace: str, ids: Any, *, include_deleted: bool = True, with_line_ids: bool = True,
                      with_validation_issues: bool = True) -> list[Invoice]:
        self.calls.append(("list_invoices", (namespace, tuple(ids), include_deleted, with_line_ids,
                                             with_validation_issues)))
        return [self.invoices[i] for i in ids if i in self.invoices]


class FakeCharges:
    def __init__(self, charges: Sequence[Any] = ()) -> None:
        self.charges = list(charges)
        self.calls: list[tuple[Any, ...]] = []

    def list_charges(self, namespace: str, *, subscription_ids: Sequence[str], deleted_filter: str = "base_intent") -> list[Any]:
        self.calls.append((namespace, tuple(subscription_ids), deleted_filter))
        return list(self.charges)


def assert_context(error: Any, identity: str | None) -> None:
    """Every integrity error names the namespace, subscription, customer and identity it concerns."""
    assert error.namespace == NS
    assert error.subscription_id == SUB
    assert error.customer_id == CUSTOMER
    assert error.identity == identity
    assert SUB in str(error)
    if identity is not None:
        assert identity in str(error)
