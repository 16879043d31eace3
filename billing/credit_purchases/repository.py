"""Reads and writes of credit purchases inside the caller's unit of work.

A purchase is its ``charges`` registry row (status, intent, state; read and written through the
charge repository) plus the rows of ``billing.credit_purchases.tables``. ``load`` takes the per-charge
row lock first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serializes writers, charges.md §0.4).
Realization rows are inserted once and only *marked* afterwards (a payment moving authorized →
settled, a link getting its detailed line); nothing is deleted.
"""

from __future__ import annotations

import datetime as dt

from pydantic import TypeAdapter
from sqlalchemy import select

from billing.charges.models import CreditPurchaseCharge, CreditPurchaseIntent
from billing.credit_purchases.errors import PurchaseConflictError, PurchaseNotFoundError
from billing.credit_purchases.models import (
    ChargeCostBasis,
    CostBasis,
    FiatCostBasis,
    PurchaseIntent,
    ResolvedCostBasis,
    Settlement,
)
from billing.credit_purchases.realizations import (
    DetailedLine,
    GrantRealization,
    InvoiceLink,
    LedgerRef,
    Payment,
)
from billing.credit_purchases.purchase import CreditPurchase
from billing.credit_purchases.tables import (
    ChargeCostBasisRow,
    CreditPurchaseRow,
    GrantRow,
    InvoiceLinkRow,
    PaymentRow,
)
from billing.period import Period
from billing.store.tables import ChargeRow, LineRow
from billing.store.unit_of_work import UnitOfWork

SETTLEMENT: TypeAdapter[Settlement] = TypeAdapter(Settlement)
COST_BASIS: TypeAdapter[CostBasis] = TypeAdapter(CostBasis)
_INTENT_FIELDS = set(CreditPurchaseIntent.model_fields)


# -- intent ↔ charge -------------------------------------------------------------------------------


def charge_intent(intent: PurchaseIntent) -> CreditPurchaseIntent:
    """The stored (unlayered) intent of the registry row; attribution lives in the row's columns."""
    data = intent.model_dump(mode="json", include=_INTENT_FIELDS)
    return CreditPurchaseIntent.model_validate(data)


def typed_intent(charge: CreditPurchaseCharge) -> PurchaseIntent:
    stored = charge.intent
    data = stored.model_dump(mode="python")
    data.update(
        customer_id=charge.customer_id,
        currency=charge.currency,
        tax_config=charge.tax_config,
        unique_reference_id=charge.unique_reference_id,
        settlement=SETTLEMENT.validate_python(stored.settlement),
        cost_basis=None if stored.cost_basis is None else COST_BASIS.validate_python(stored.cost_basis),
    )
    return PurchaseIntent.model_validate(data)


# -- realization rows ↔ models ---------------------------------------------------------------------


def _cost_basis_of(row: ChargeCostBasisRow) -> ChargeCostBasis:
    basis = COST_BASIS.validate_python({
        "type": "custom_currency", "mode": row.mode, "fiat_currency": row.fiat_currency,
        **({"rate": row.rate} if row.mode == "manual" else {}),
        **({"currency_cost_basis_id": row.currency_cost_basis_id} if row.mode == "pinned" else {}),
    })
    resolved = None
    if row.resolved_rate is not None:
        assert row.resolved_at is not None and row.resolved_fiat_currency is not None
        resolved = ResolvedCostBasis(rate=row.resolved_rate, fiat_currency=row.resolved_fiat_currency,
                                     resolved_at=row.resolved_at, source_id=row.resolved_source_id)
    return ChargeCostBasis(id=row.id, basis=basis, resolved=resolved)  # type: ignore[arg-type]


def _ref(tx: str | None, at: dt.datetime | None) -> LedgerRef | None:
    return None if tx is None or at is None else LedgerRef(transaction_group_id=tx, at=at)


def _payment_of(row: PaymentRow) -> Payment:
    authorized = _ref(row.authorized_transaction_group_id, row.authorized_at)
    assert authorized is not None
    return Payment(
        id=row.id, kind=row.kind, status=row.status, fiat_amount=row.fiat_amount,  # type: ignore[arg-type]
        currency=row.currency,
        service_period=Period(start=row.service_period_start, end=row.service_period_end),
        authorized=authorized,
        failed=_ref(row.failed_transaction_group_id, row.failed_at),
        settled=_ref(row.settled_transaction_group_id, row.settled_at),
        voided_at=row.voided_at, invoice_id=row.invoice_id, line_id=row.line_id,
        annotations=dict(row.annotations or {}),
    )


def _write_payment(row: PaymentRow, payment: Payment, now: dt.datetime) -> None:
    row.kind, row.status, row.fiat_amount, row.currency = payment.kind, payment.status, payment.fiat_amount, payment.currency
    row.service_period_start, row.service_period_end = payment.service_period.start, payment.service_period.end
    row.authorized_transaction_group_id = payment.authorized.transaction_group_id
    row.authorized_at = payment.authorized.at
    row.failed_transaction_group_id = None if payment.failed is None else payment.failed.transaction_group_id
    row.failed_at = None if payment.failed is None else payment.failed.at
    row.settled_transaction_group_id = None if payment.settled is None else payment.settled.transaction_group_id
    row.settled_at = None if payment.settled is None else payment.settled.at
    row.voided_at = payment.voided_at
    row.invoice_id, row.line_id = payment.invoice_id, payment.line_id
    row.annotations = dict(payment.annotations)
    row.updated_at = now


def _one(uow: UnitOfWork, row_type, charge_id: str):  # type: ignore[no-untyped-def]
    return uow.session.scalars(select(row_type).where(row_type.charge_id == charge_id)).one_or_none()


# -- loading ---------------------------------------------------------------------------------------


def assemble(uow: UnitOfWork, charge: CreditPurchaseCharge) -> CreditPurchase:
    purchase_row = _one(uow, CreditPurchaseRow, charge.id)
    basis_row = None
    if purchase_row is not None and purchase_row.cost_basis_id is not None:
        basis_row = uow.session.scalars(
            select(ChargeCostBasisRow).where(ChargeCostBasisRow.id == purchase_row.cost_basis_id)
        ).one()
    grant_row, link_row, payment_row = (_one(uow, t, charge.id) for t in (GrantRow, InvoiceLinkRow, PaymentRow))
    return CreditPurchase(
        charge=charge,
        intent=typed_intent(charge),
        cost_basis=None if basis_row is None else _cost_basis_of(basis_row),
        grant=None if grant_row is None else GrantRealization(
            id=grant_row.id, transaction_group_id=grant_row.transaction_group_id, granted_at=grant_row.granted_at),
        link=None if link_row is None else InvoiceLink(
            invoice_id=link_row.invoice_id, line_id=link_row.line_id, linked_at=link_row.linked_at,
            detailed_line=None if link_row.detailed_line is None else DetailedLine.model_validate(link_row.detailed_line)),
        payment=None if payment_row is None else _payment_of(payment_row),
    )


def load(uow: UnitOfWork, namespace: str, charge_id: str, *, customer_id: str | None = None,
         lock: bool = True) -> CreditPurchase:
    """The purchase, after taking its row lock; ``PurchaseNotFoundError`` when it does not exist, is
    not a credit purchase or belongs to another customer."""
    query = select(ChargeRow).where(ChargeRow.namespace == namespace, ChargeRow.id == charge_id)
    row = uow.session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None or row.type != "credit_purchase" or (customer_id is not None and row.customer_id != customer_id):
        owner = f" of customer {customer_id!r}" if customer_id is not None else ""
        raise PurchaseNotFoundError(f"credit purchase {charge_id!r}{owner} not found in namespace {namespace!r}",
                                    charge_id=charge_id)
    charge = uow.charges.get(namespace, charge_id)
    assert isinstance(charge, CreditPurchaseCharge)
    return assemble(uow, charge)


def list_for_customer(uow: UnitOfWork, namespace: str, customer_id: str) -> list[CreditPurchase]:
    """The customer's purchases in creation order."""
    charges = uow.charges.list(namespace, customer_ids=[customer_id], include_deleted=True)
    return [assemble(uow, charge) for charge in charges if isinstance(charge, CreditPurchaseCharge)]


def find_by_key(uow: UnitOfWork, namespace: str, customer_id: str, key: str) -> str | None:
    """The id of the customer's live purchase with idempotency key ``key``."""
    return uow.session.scalars(
        select(CreditPurchaseRow.charge_id).where(
            CreditPurchaseRow.namespace == namespace, CreditPurchaseRow.customer_id == customer_id,
            CreditPurchaseRow.purchase_key == key, CreditPurchaseRow.deleted_at.is_(None),
        )
    ).one_or_none()


def identity_taken(uow: UnitOfWork, namespace: str, identity: str) -> bool:
    """Whether a live charge of any type already carries the unique reference id (§1.6)."""
    return uow.session.scalars(
        select(ChargeRow.id).where(ChargeRow.namespace == namespace, ChargeRow.unique_reference_id == identity,
                                   ChargeRow.deleted_at.is_(None)).limit(1)
    ).first() is not None


def _due(namespace: str, now: dt.datetime, customer_id: str | None = None):  # type: ignore[no-untyped-def]
    query = (
        select(ChargeRow.id, ChargeRow.customer_id)
        .join(CreditPurchaseRow, CreditPurchaseRow.charge_id == ChargeRow.id)
        .where(
            ChargeRow.namespace == namespace, ChargeRow.deleted_at.is_(None), ChargeRow.status == "created",
            ChargeRow.advance_after.is_not(None), ChargeRow.advance_after <= now,
            CreditPurchaseRow.settlement_type == "invoice",
        )
        .order_by(ChargeRow.sequence)
    )
    return query if customer_id is None else query.where(ChargeRow.customer_id == customer_id)


def due_invoice_purchases(uow: UnitOfWork, namespace: str, customer_id: str, now: dt.datetime) -> list[str]:
    """Invoice-settled purchases still ``created`` whose ``advance_after`` has come (§1.8), oldest first."""
    return [row.id for row in uow.session.execute(_due(namespace, now, customer_id))]


def customers_with_due_purchases(uow: UnitOfWork, namespace: str, now: dt.datetime) -> list[str]:
    return sorted({row.customer_id for row in uow.session.execute(_due(namespace, now))})


def live_lines(uow: UnitOfWork, namespace: str, charge_id: str) -> list[LineRow]:
    return list(uow.session.scalars(
        select(LineRow).where(LineRow.namespace == namespace, LineRow.charge_id == charge_id,
                              LineRow.deleted_at.is_(None)).order_by(LineRow.sequence)
    ))


# -- writes ----------------------------------------------------------------------------------------


def insert(uow: UnitOfWork, charge: CreditPurchaseCharge, intent: PurchaseIntent,
           cost_basis: ChargeCostBasis | None) -> CreditPurchase:
    """Store a new purchase: registry row, optional cost-basis row, per-type row (§5.6.2 step 4). The
    caller checks the idempotency key first; the unique indexes are the backstop."""
    stored = uow.charges.insert(charge, uow.now)
    assert isinstance(stored, CreditPurchaseCharge)
    if cost_basis is not None:
        basis = cost_basis.basis
        resolved = cost_basis.resolved
        uow.session.add(ChargeCostBasisRow(
            id=cost_basis.id, namespace=charge.namespace, charge_id=charge.id, currency=charge.currency,
            mode=basis.mode, fiat_currency=basis.fiat_currency, rate=getattr(basis, "rate", None),
            currency_cost_basis_id=getattr(basis, "currency_cost_basis_id", None),
            resolved_rate=None if resolved is None else resolved.rate,
            resolved_fiat_currency=None if resolved is None else resolved.fiat_currency,
            resolved_at=None if resolved is None else resolved.resolved_at,
            resolved_source_id=None if resolved is None else resolved.source_id,
            created_at=uow.now, updated_at=uow.now,
        ))
        uow.flush()
    settlement = intent.settlement
    uow.session.add(CreditPurchaseRow(
        charge_id=charge.id, namespace=charge.namespace, customer_id=charge.customer_id,
        unique_reference_id=intent.unique_reference_id, purchase_key=intent.key,
        settlement_type=settlement.type,
        external_initial_status=getattr(settlement, "initial_status", None),
        fiat_rate=intent.cost_basis.rate if isinstance(intent.cost_basis, FiatCostBasis) else None,
        cost_basis_id=None if cost_basis is None else cost_basis.id,
        created_at=uow.now, deleted_at=None,
    ))
    uow.flush()
    return assemble(uow, stored)


def set_resolved_cost_basis(uow: UnitOfWork, namespace: str, charge_id: str, resolved: ResolvedCostBasis) -> None:
    """Record the resolution of a purchase's custom cost basis (its child row)."""
    row = uow.session.scalars(
        select(ChargeCostBasisRow).where(ChargeCostBasisRow.namespace == namespace,
                                         ChargeCostBasisRow.charge_id == charge_id)
    ).one_or_none()
    if row is None:
        raise PurchaseNotFoundError(f"credit purchase {charge_id!r} has no cost-basis row in namespace {namespace!r}",
                                    charge_id=charge_id)
    row.resolved_rate, row.resolved_fiat_currency = resolved.rate, resolved.fiat_currency
    row.resolved_at, row.resolved_source_id = resolved.resolved_at, resolved.source_id
    row.updated_at = uow.now
    uow.flush()


def insert_grant(uow: UnitOfWork, purchase: CreditPurchase, grant: GrantRealization) -> None:
    uow.session.add(GrantRow(id=grant.id, namespace=purchase.namespace, charge_id=purchase.id,
                             transaction_group_id=grant.transaction_group_id, granted_at=grant.granted_at,
                             created_at=uow.now))
    uow.flush()


def insert_link(uow: UnitOfWork, purchase: CreditPurchase, link: InvoiceLink) -> None:
    uow.session.add(InvoiceLinkRow(
        namespace=purchase.namespace, charge_id=purchase.id, invoice_id=link.invoice_id, line_id=link.line_id,
        linked_at=link.linked_at,
        detailed_line=None if link.detailed_line is None else link.detailed_line.model_dump(mode="json"),
    ))
    uow.flush()


def set_detailed_line(uow: UnitOfWork, purchase: CreditPurchase, detailed: DetailedLine) -> None:
    row = _one(uow, InvoiceLinkRow, purchase.id)
    assert row is not None, f"credit purchase {purchase.id} has no invoice link"
    row.detailed_line = detailed.model_dump(mode="json")
    uow.flush()


def save_payment(uow: UnitOfWork, purchase: CreditPurchase, payment: Payment) -> None:
    """Insert the purchase's payment, or mark the existing one (same id) with its new content."""
    row = _one(uow, PaymentRow, purchase.id)
    if row is None:
        row = PaymentRow(id=payment.id, namespace=purchase.namespace, charge_id=purchase.id, created_at=uow.now)
        uow.session.add(row)
    elif row.id != payment.id:
        raise PurchaseConflictError(f"credit purchase {purchase.id} already has payment {row.id}",
                                    charge_id=purchase.id)
    _write_payment(row, payment, uow.now)
    uow.flush()
