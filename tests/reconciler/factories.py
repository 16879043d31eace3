"""In-memory builders for planner tests: target items, persisted lines, hierarchies, charges,
invoices and plan inputs. No database: the planner is pure.

A ``Book`` collects invoices and persisted items; its ``state()`` snapshots every invoice with the
line ids that sit on it (so "the line is in the invoice's line_ids" holds unless a test removes it).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any, Iterable, Mapping

from billing.charges.models import (
    ChargeSubscriptionReference,
    FlatFeeCharge,
    FlatFeeIntent,
    UsageBasedCharge,
    UsageBasedIntent,
)
from billing.invoices import InvoiceHeader as BillingInvoiceHeader
from billing.invoices import ValidationIssue
from billing.lines import Line, SubscriptionReference
from billing.period import Period as BillingPeriod
from billing.prices import Discounts as BillingDiscounts
from billing.prices import FlatPrice as BillingFlatPrice
from billing.prices import TaxConfig as BillingTaxConfig
from billing.prices import UnitPrice as BillingUnitPrice
from billing.split_lines import SplitLineChild, SplitLineGroup, SplitLineHierarchy
from persistedstate.invoices import InvoiceSnapshot
from persistedstate.items import (
    FlatFeeChargeItem,
    InvoiceLineItem,
    PersistedItem,
    SplitLineGroupItem,
    UsageBasedChargeItem,
)
from persistedstate.state import PersistedState
from reconciler.drift import ISSUE_CODE, ISSUE_COMPONENT
from reconciler.inputs import PlanInputs, SubscriptionFacts
from reconciler.settings import SyncSettings
from subscriptions.duration import Duration
from subscriptions.models import Discounts, ProRatingConfig, RateCard, Subscription, SubscriptionItem, TaxConfig
from subscriptions.prices import FlatPrice, Price, UnitPrice
from targetstate.items import TargetItem, TargetState, identity
from targetstate.money import fiat_currency
from targetstate.timemath import Period

UTC = dt.timezone.utc
NAMESPACE = "ns"
SUBSCRIPTION = "sub-1"
CUSTOMER = "cus-1"
CURRENCY = "USD"
EPOCH = dt.datetime(2020, 1, 1, tzinfo=UTC)

MUTABLE_STATUSES = frozenset(
    {
        "draft.created",
        "draft.waiting_for_collection",
        "draft.collecting",
        "draft.validating",
        "draft.invalid",
        "draft.sync_failed",
        "draft.ready_to_issue",
        "draft.waiting_auto_approval",
        "draft.manual_approval_needed",
    }
)


def t(text: str) -> dt.datetime:
    """``2025-03-01`` or ``2025-03-10T00:00:00.400`` → an aware UTC instant."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def period(start: str, end: str) -> BillingPeriod:
    return BillingPeriod(start=t(start), end=t(end))


# -- target side -----------------------------------------------------------------------------------


def flat(amount: str = "10", term: str = "in_advance") -> FlatPrice:
    return FlatPrice(amount=Decimal(amount), payment_term=term)  # type: ignore[arg-type]


def unit(amount: str = "1") -> UnitPrice:
    return UnitPrice(amount=Decimal(amount))


def subscription(
    *,
    sub_id: str = SUBSCRIPTION,
    customer_id: str = CUSTOMER,
    namespace: str = NAMESPACE,
    start: str = "2020-01-01",
    active_to: str | None = None,
    settlement_mode: str = "credit_then_invoice",
    pro_rating: bool = True,
    currency: str = CURRENCY,
) -> Subscription:
    return Subscription(
        id=sub_id,
        namespace=namespace,
        customer_id=customer_id,
        active_from=t(start),
        active_to=None if active_to is None else t(active_to),
        billing_cadence=Duration.parse("P1M"),
        billing_anchor=t(start),
        pro_rating_config=ProRatingConfig(enabled=pro_rating),
        settlement_mode=settlement_mode,  # type: ignore[arg-type]
        invoice_currency=currency,
    )


def target(
    service: tuple[str, str],
    *,
    price: Price | None = None,
    full: tuple[str, str] | None = None,
    billing: tuple[str, str] | None = None,
    sub: Subscription | None = None,
    phase_key: str = "main",
    phase_id: str | None = None,
    item_key: str = "api",
    item_id: str | None = None,
    version: int = 0,
    period_index: int | None = 0,
    name: str | None = None,
    tax_config: TaxConfig | None = None,
    discounts: Discounts | None = None,
    feature_key: str | None = None,
    unit_config: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    end_proration_mode: str = "",
) -> TargetItem:
    """A target item; ``period_index=None`` makes it one-time. Full and billing periods default to the
    service period."""
    sub = sub or subscription()
    price = unit() if price is None else price
    one_time = period_index is None
    rate_card = RateCard(
        key=item_key,
        type="flat_fee" if isinstance(price, FlatPrice) else "usage_based",
        name=name,
        price=price,
        billing_cadence=None if one_time else Duration.parse("P1M"),
        feature_key=feature_key,
        tax_config=tax_config,
        discounts=discounts,
        unit_config=unit_config,
    )
    item = SubscriptionItem(
        id=item_id or f"item-{phase_key}-{item_key}-{version}",
        key=item_key,
        active_from=t(service[0]),
        rate_card=rate_card,
        annotations=dict(annotations or {}),
        metadata=dict(metadata or {}),
    )
    full = full or service
    billing = billing or service
    return TargetItem(
        unique_id=identity(sub.id, phase_key, item_key, version, period_index),
        subscription=sub,
        phase_id=phase_id or f"phase-{phase_key}",
        phase_key=phase_key,
        item_key=item_key,
        item_version=version,
        period_index=0 if one_time else period_index,
        item=item,
        service_period=Period(start=t(service[0]), end=t(service[1])),
        full_service_period=Period(start=t(full[0]), end=t(full[1])),
        billing_period=Period(start=t(billing[0]), end=t(billing[1])),
        currency=fiat_currency(sub.invoice_currency),
        subscription_end_proration_mode=end_proration_mode,
    )


def ident(item_key: str = "api", *, phase_key: str = "main", version: int = 0, period_index: int | None = 0,
          sub_id: str = SUBSCRIPTION) -> str:
    return identity(sub_id, phase_key, item_key, version, period_index)


# -- persisted side --------------------------------------------------------------------------------

def billing_unit(amount: str = "1") -> BillingUnitPrice:
    return BillingUnitPrice(amount=Decimal(amount))


def billing_flat(amount: str = "10", term: str = "in_advance") -> BillingFlatPrice:
    return BillingFlatPrice(amount=Decimal(amount), payment_term=term)  # type: ignore[arg-type]


def issue(line_id: str, message: str, *, severity: str = "warning", component: str = ISSUE_COMPONENT,
          code: str = ISSUE_CODE) -> ValidationIssue:
    return ValidationIssue(
        severity=severity, code=code, message=message, component=component, path=f"lines/{line_id}"  # type: ignore[arg-type]
    )


class Book:
    """Invoices and persisted items of one test, snapshotted by ``state()``."""

    def __init__(self, sub_id: str = SUBSCRIPTION) -> None:
        self.sub_id = sub_id
        self._sequence = itertools.count(1)
        self._invoices: dict[str, dict[str, Any]] = {}
        self._lines: dict[str, list[str]] = {}
        self.items: list[PersistedItem] = []

    # invoices

    def gathering(self, invoice_id: str = "gathering", *, deleted: bool = False) -> str:
        self._invoices[invoice_id] = {"kind": "gathering", "status": "gathering", "deleted": deleted}
        self._lines.setdefault(invoice_id, [])
        return invoice_id

    def standard(self, invoice_id: str, status: str = "paid", *, issues: Iterable[ValidationIssue] = (),
                 extra_line_ids: Iterable[str] = ()) -> str:
        self._invoices[invoice_id] = {
            "kind": "standard",
            "status": status,
            "deleted": False,
            "issues": tuple(issues),
            "extra": tuple(extra_line_ids),
        }
        self._lines.setdefault(invoice_id, [])
        return invoice_id

    def set_issues(self, invoice_id: str, issues: Iterable[ValidationIssue]) -> None:
        self._invoices[invoice_id]["issues"] = tuple(issues)

    def forget_line(self, invoice_id: str, line_id: str) -> None:
        """Take a line out of its invoice's ``line_ids`` (the "line not found" cases)."""
        self._lines[invoice_id].remove(line_id)

    def snapshot(self, invoice_id: str) -> InvoiceSnapshot:
        spec = self._invoices[invoice_id]
        standard = spec["kind"] == "standard"
        return InvoiceSnapshot(
            id=invoice_id,
            kind=spec["kind"],
            status=spec["status"],
            immutable=standard and spec["status"] not in MUTABLE_STATUSES,
            deleted=spec["deleted"],
            currency=CURRENCY,
            updated_at=EPOCH,
            line_ids=tuple(self._lines[invoice_id]) + spec["extra"] if standard else None,
            validation_issues=spec["issues"] if standard else None,
        )

    def header(self, invoice_id: str) -> BillingInvoiceHeader:
        snap = self.snapshot(invoice_id)
        return BillingInvoiceHeader(
            id=invoice_id,
            namespace=NAMESPACE,
            customer_id=CUSTOMER,
            kind=snap.kind,
            status=snap.status,
            immutable=snap.immutable,
            currency=CURRENCY,
            created_at=EPOCH,
            updated_at=EPOCH,
            deleted_at=EPOCH if snap.deleted else None,
            sequence=1,
        )

    # lines

    def new_line(
        self,
        line_id: str,
        invoice_id: str,
        service: tuple[str, str],
        *,
        identity: str | None = None,
        group_id: str | None = None,
        price: Any = None,
        invoice_at: str | None = None,
        name: str = "api",
        managed_by: str = "subscription",
        annotations: Mapping[str, Any] | None = None,
        deleted: bool = False,
        quantity: str | None = None,
        tax_config: BillingTaxConfig | None = None,
        discounts: BillingDiscounts | None = None,
        feature_key: str | None = None,
        phase_id: str = "phase-main",
        item_id: str = "item-main-api-0",
        billing: tuple[str, str] | None = None,
    ) -> Line:
        price = billing_unit() if price is None else price
        billing = billing or service
        self._lines[invoice_id].append(line_id)
        return Line(
            id=line_id,
            namespace=NAMESPACE,
            invoice_id=invoice_id,
            customer_id=CUSTOMER,
            currency=CURRENCY,
            created_at=EPOCH,
            updated_at=EPOCH,
            deleted_at=EPOCH if deleted else None,
            sequence=next(self._sequence),
            name=name,
            managed_by=managed_by,  # type: ignore[arg-type]
            annotations=dict(annotations or {}),
            service_period=period(*service),
            invoice_at=t(invoice_at or service[1]),
            price=price,
            quantity=None if quantity is None else Decimal(quantity),
            feature_key=feature_key,
            rate_card_discounts=discounts,
            tax_config=tax_config,
            child_unique_reference_id=identity,
            split_line_group_id=group_id,
            subscription=SubscriptionReference(
                subscription_id=self.sub_id, phase_id=phase_id, item_id=item_id, billing_period=period(*billing)
            ),
        )

    def line(self, line_id: str, invoice_id: str, service: tuple[str, str], *, identity: str, **fields: Any) -> Line:
        """A standalone line, registered as a persisted item."""
        line = self.new_line(line_id, invoice_id, service, identity=identity, **fields)
        self.items.append(InvoiceLineItem(line=line))
        return line

    def hierarchy(
        self,
        identity: str,
        group_period: tuple[str, str],
        children: Iterable[tuple[str, str, tuple[str, str]] | tuple[str, str, tuple[str, str], dict[str, Any]]],
        *,
        group_id: str = "grp-1",
        price: Any = None,
        name: str = "api",
        discounts: BillingDiscounts | None = None,
    ) -> SplitLineGroupItem:
        """A hierarchy; each child is ``(line_id, invoice_id, period[, fields])``."""
        price = billing_unit() if price is None else price
        group = SplitLineGroup(
            id=group_id,
            namespace=NAMESPACE,
            customer_id=CUSTOMER,
            created_at=EPOCH,
            updated_at=EPOCH,
            sequence=next(self._sequence),
            service_period=period(*group_period),
            unique_reference_id=identity,
            price=price,
            currency=CURRENCY,
            name=name,
            rate_card_discounts=discounts,
            subscription=SubscriptionReference(
                subscription_id=self.sub_id, phase_id="phase-main", item_id="item-main-api-0",
                billing_period=period(*group_period),
            ),
        )
        built = []
        for entry in children:
            line_id, invoice_id, service = entry[0], entry[1], entry[2]
            fields = dict(entry[3]) if len(entry) > 3 else {}  # type: ignore[misc]
            fields.setdefault("price", price)
            fields.setdefault("name", name)
            fields.setdefault("discounts", discounts)
            line = self.new_line(line_id, invoice_id, service, group_id=group_id, **fields)
            built.append(SplitLineChild(line=line, invoice=self.header(invoice_id)))
        item = SplitLineGroupItem(hierarchy=SplitLineHierarchy(group=group, children=tuple(built)))
        self.items.append(item)
        return item

    def flat_fee_charge(
        self,
        charge_id: str,
        identity: str,
        service: tuple[str, str],
        *,
        full: tuple[str, str] | None = None,
        billing: tuple[str, str] | None = None,
        invoice_at: str | None = None,
        settlement_mode: str = "credit_only",
        subscription_id: str | None = None,
        phase_id: str = "phase-main",
        item_id: str = "item-main-api-0",
        reference: bool = True,
        amount: str = "10",
    ) -> FlatFeeChargeItem:
        base = FlatFeeIntent(
            name="api",
            service_period=period(*service),
            full_service_period=period(*(full or service)),
            billing_period=period(*(billing or full or service)),
            invoice_at=t(invoice_at or service[0]),
            amount_before_proration=Decimal(amount),
        )
        charge = FlatFeeCharge(
            id=charge_id,
            namespace=NAMESPACE,
            customer_id=CUSTOMER,
            currency=CURRENCY,
            unique_reference_id=identity,
            subscription=ChargeSubscriptionReference(
                subscription_id=subscription_id or self.sub_id, phase_id=phase_id, item_id=item_id
            ) if reference else None,
            status="active",
            created_at=EPOCH,
            updated_at=EPOCH,
            sequence=next(self._sequence),
            settlement_mode=settlement_mode,  # type: ignore[arg-type]
            base=base,
        )
        item = FlatFeeChargeItem(charge=charge)
        self.items.append(item)
        return item

    def usage_charge(
        self,
        charge_id: str,
        identity: str,
        service: tuple[str, str],
        *,
        full: tuple[str, str] | None = None,
        billing: tuple[str, str] | None = None,
        invoice_at: str | None = None,
        settlement_mode: str = "credit_only",
        item_id: str = "item-main-api-0",
        phase_id: str = "phase-main",
    ) -> UsageBasedChargeItem:
        base = UsageBasedIntent(
            name="api",
            service_period=period(*service),
            full_service_period=period(*(full or service)),
            billing_period=period(*(billing or full or service)),
            invoice_at=t(invoice_at or service[1]),
            price=billing_unit(),
        )
        charge = UsageBasedCharge(
            id=charge_id,
            namespace=NAMESPACE,
            customer_id=CUSTOMER,
            currency=CURRENCY,
            unique_reference_id=identity,
            subscription=ChargeSubscriptionReference(
                subscription_id=self.sub_id, phase_id=phase_id, item_id=item_id
            ),
            status="active",
            created_at=EPOCH,
            updated_at=EPOCH,
            sequence=next(self._sequence),
            settlement_mode=settlement_mode,  # type: ignore[arg-type]
            feature_key="api",
            base=base,
        )
        item = UsageBasedChargeItem(charge=charge)
        self.items.append(item)
        return item

    def state(self) -> PersistedState:
        return PersistedState.of(self.items, [self.snapshot(invoice_id) for invoice_id in self._invoices])


def inputs(
    targets: Iterable[TargetItem] = (),
    book: Book | PersistedState | None = None,
    *,
    settings: SyncSettings | None = None,
    charges: bool = False,
    settlement_mode: str = "credit_then_invoice",
    as_of: str = "2025-01-01",
    has_billables: bool = True,
    max_generation_time_limit: str | None = None,
    sub_id: str = SUBSCRIPTION,
    customer_id: str = CUSTOMER,
    namespace: str = NAMESPACE,
) -> PlanInputs:
    persisted = book.state() if isinstance(book, Book) else (book or PersistedState.empty())
    return PlanInputs(
        persisted=persisted,
        target=TargetState(
            items=tuple(targets),
            max_generation_time_limit=None if max_generation_time_limit is None else t(max_generation_time_limit),
        ),
        subscription=SubscriptionFacts(
            namespace=namespace,
            subscription_id=sub_id,
            customer_id=customer_id,
            currency=CURRENCY,
            settlement_mode=settlement_mode,  # type: ignore[arg-type]
        ),
        settings=settings or SyncSettings(),
        charges_port_configured=charges,
        has_billables=has_billables,
        as_of=t(as_of),
    )


def planning(request: PlanInputs, quantities: Mapping[Any, Decimal] | None = None, *, items: Mapping[str, PersistedItem] | None = None):  # type: ignore[no-untyped-def]
    """A planning context and its four collections, for tests that call collections directly."""
    from reconciler.context import PlanContext
    from reconciler.planner import Collections
    from reconciler.probes import QuantityLookup
    from reconciler.settings import resolve_credits

    ctx = PlanContext(
        inputs=request,
        items=dict(request.persisted.by_identity) if items is None else items,
        credits=resolve_credits(request.settings),
        lookup=QuantityLookup(quantities or {}, context=request.error_context()),
    )
    return ctx, Collections(ctx)


def scoped(ctx, item: TargetItem):  # type: ignore[no-untyped-def]
    """The in-scope form of ``item`` as the planner would build it (collection and expected line)."""
    from reconciler.routing import CHARGE_COLLECTIONS
    from reconciler.scope import ScopedTarget, expected_line, route

    collection = route(ctx, item)
    expected = None if collection in CHARGE_COLLECTIONS else expected_line(ctx, item)
    return ScopedTarget(item, collection, expected)
