"""Row ↔ model mapping. Rows are mutable ORM objects; models are frozen pydantic values."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from billing.customers import BillingProfile, Customer
from billing.invoices import InvoiceHeader, ValidationIssue
from billing.lines import GatheringLine, Line, LineContent, StandardLine, SubscriptionReference
from billing.period import Period
from billing.prices import Discounts, Price, TaxConfig
from billing.rating import Totals
from billing.split_lines import SplitLineGroup, SplitLineGroupContent
from billing.store.tables import CustomerRow, InvoiceRow, LineRow, SplitLineGroupRow, ValidationIssueRow

PRICE = TypeAdapter(Price)


def dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


def totals_of(row: InvoiceRow | LineRow) -> Totals:
    return Totals(amount=row.amount, discounts=row.discounts, credits=row.credits, taxes=row.taxes, total=row.total)


def set_totals(row: InvoiceRow | LineRow, totals: Totals) -> None:
    row.amount, row.discounts, row.credits = totals.amount, totals.discounts, totals.credits
    row.taxes, row.total = totals.taxes, totals.total


def customer_of(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        namespace=row.namespace,
        key=row.key,
        name=row.name,
        currency=row.currency,
        billing_profile=BillingProfile.model_validate(row.billing_profile),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        sequence=row.sequence,
    )


def invoice_header_of(row: InvoiceRow) -> InvoiceHeader:
    return InvoiceHeader(
        id=row.id,
        namespace=row.namespace,
        customer_id=row.customer_id,
        kind=row.kind,  # type: ignore[arg-type]
        status=row.status,
        immutable=row.immutable,
        currency=row.currency,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        collection_at=row.collection_at,
        collected_at=row.collected_at,
        issued_at=row.issued_at,
        due_at=row.due_at,
        sequence=row.sequence,
    )


def issue_of(row: ValidationIssueRow) -> ValidationIssue:
    return ValidationIssue(
        severity=row.severity,  # type: ignore[arg-type]
        code=row.code,
        message=row.message,
        component=row.component,
        path=row.path,
    )


def _subscription_ref(row: LineRow | SplitLineGroupRow) -> SubscriptionReference | None:
    if row.subscription_id is None:
        return None
    assert row.subscription_billing_period_start is not None and row.subscription_billing_period_end is not None
    return SubscriptionReference(
        subscription_id=row.subscription_id,
        phase_id=row.subscription_phase_id or "",
        item_id=row.subscription_item_id or "",
        billing_period=Period(start=row.subscription_billing_period_start, end=row.subscription_billing_period_end),
    )


def _set_subscription_ref(row: LineRow | SplitLineGroupRow, ref: SubscriptionReference | None) -> None:
    row.subscription_id = ref.subscription_id if ref else None
    row.subscription_phase_id = ref.phase_id if ref else None
    row.subscription_item_id = ref.item_id if ref else None
    row.subscription_billing_period_start = ref.billing_period.start if ref else None
    row.subscription_billing_period_end = ref.billing_period.end if ref else None


def line_of(row: LineRow, invoice_kind: str) -> Line:
    cls = GatheringLine if invoice_kind == "gathering" else StandardLine
    return cls(
        id=row.id,
        namespace=row.namespace,
        invoice_id=row.invoice_id,
        customer_id=row.customer_id,
        currency=row.currency,
        name=row.name,
        description=row.description,
        managed_by=row.managed_by,  # type: ignore[arg-type]
        annotations=dict(row.annotations or {}),
        metadata=dict(row.metadata_ or {}),
        service_period=Period(start=row.service_period_start, end=row.service_period_end),
        invoice_at=row.invoice_at,
        price=PRICE.validate_python(row.price),
        per_unit_amount=row.per_unit_amount,
        quantity=row.quantity,
        feature_key=row.feature_key,
        rate_card_discounts=None if row.rate_card_discounts is None else Discounts.model_validate(row.rate_card_discounts),
        tax_config=None if row.tax_config is None else TaxConfig.model_validate(row.tax_config),
        child_unique_reference_id=row.child_unique_reference_id,
        subscription=_subscription_ref(row),
        split_line_group_id=row.split_line_group_id,
        charge_id=row.charge_id,
        engine=row.engine,  # type: ignore[arg-type]
        totals=totals_of(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        sequence=row.sequence,
    )


def write_line_content(row: LineRow, line: LineContent) -> None:
    """Copy every caller-writable field of ``line`` onto ``row``."""
    row.name = line.name
    row.description = line.description
    row.managed_by = line.managed_by
    row.annotations = dict(line.annotations)
    row.metadata_ = dict(line.metadata)
    row.service_period_start = line.service_period.start
    row.service_period_end = line.service_period.end
    row.invoice_at = line.invoice_at
    row.price = dump(line.price)
    row.price_type = line.price.type
    row.per_unit_amount = line.per_unit_amount
    row.quantity = line.quantity
    row.feature_key = line.feature_key
    row.rate_card_discounts = dump(line.rate_card_discounts)
    row.tax_config = dump(line.tax_config)
    row.child_unique_reference_id = line.child_unique_reference_id
    _set_subscription_ref(row, line.subscription)
    row.split_line_group_id = line.split_line_group_id
    row.charge_id = line.charge_id
    row.engine = line.engine


def group_of(row: SplitLineGroupRow) -> SplitLineGroup:
    return SplitLineGroup(
        id=row.id,
        namespace=row.namespace,
        customer_id=row.customer_id,
        currency=row.currency,
        service_period=Period(start=row.service_period_start, end=row.service_period_end),
        unique_reference_id=row.unique_reference_id,
        price=PRICE.validate_python(row.price),
        feature_key=row.feature_key,
        subscription=_subscription_ref(row),
        name=row.name,
        description=row.description,
        metadata=dict(row.metadata_ or {}),
        rate_card_discounts=None if row.rate_card_discounts is None else Discounts.model_validate(row.rate_card_discounts),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        sequence=row.sequence,
    )


def write_group_content(row: SplitLineGroupRow, group: SplitLineGroupContent) -> None:
    row.service_period_start = group.service_period.start
    row.service_period_end = group.service_period.end
    row.unique_reference_id = group.unique_reference_id
    row.price = dump(group.price)
    row.feature_key = group.feature_key
    _set_subscription_ref(row, group.subscription)
    row.currency = group.currency
    row.name = group.name
    row.description = group.description
    row.metadata_ = dict(group.metadata)
    row.rate_card_discounts = dump(group.rate_card_discounts)

