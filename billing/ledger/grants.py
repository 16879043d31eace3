"""Grants: issue with negative-balance covering (§2.3, §2.4, ``grant_issue`` + ``promotional_settle``),
the manual grant void (§5.7, ``grant_void``) and the invoice void of a purchase (§5.6.11,
``purchase_void``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from billing.ids import new_id
from billing.ledger.consumption import feature_eligible
from billing.ledger.errors import (
    LedgerConflictError,
    LedgerInvariantError,
    LedgerNotFoundError,
    LedgerValidationError,
)
from billing.ledger.models import ChargeRef, VoidReason
from billing.ledger.postings import GroupWriter, LedgerContext, require_instant
from billing.ledger.queries import (
    grant_row_for_charge,
    lot_balance,
    net_breakage,
    outstanding,
    receivable,
    record_rows,
)
from billing.ledger.terms import PurchaseTerms, purchase_terms
from billing.store.ledger_tables import (
    LedgerCoverRow,
    LedgerEntryRow,
    LedgerGrantRow,
    LedgerGroupRow,
    LedgerNegativeBalanceRow,
)

ZERO = Decimal(0)
VOID_REASONS: tuple[str, ...] = VoidReason.__args__  # type: ignore[attr-defined]


def issue(ctx: LedgerContext, charge: ChargeRef, *, promotional: bool) -> str:
    terms = purchase_terms(charge)
    if promotional and not terms.promotional:
        raise LedgerValidationError(f"credit purchase {charge.id} is settled {terms.settlement!r}, not promotional")
    if not promotional and terms.promotional:
        raise LedgerValidationError(
            f"credit purchase {charge.id} is promotional: grant it with on_promotional_credit_purchase"
        )
    existing = grant_row_for_charge(ctx.session, ctx.namespace, charge.id)
    if existing is not None:
        raise LedgerConflictError(f"credit purchase {charge.id} is already granted (grant {existing.id})")
    amount = ctx.require_money(terms.amount, terms.credit_currency, field=f"credit amount of purchase {charge.id}")
    currency = terms.credit_currency
    basis = terms.cost_basis

    grant_id = new_id()
    group = GroupWriter(ctx, "grant_issue", terms.effective_at, charge_id=charge.id, grant_id=grant_id)
    covers = _cover_plan(ctx, terms, amount)
    covered = sum((k for _, k in covers), ZERO)
    grant = LedgerGrantRow(
        id=grant_id,
        namespace=ctx.namespace,
        customer_id=ctx.customer_id,
        currency=currency,
        amount=amount,
        covered_at_issue=covered,
        priority=terms.priority,
        effective_at=terms.effective_at,
        expires_at=terms.expires_at,
        feature_filters=list(terms.feature_filters),
        cost_basis=basis,
        source_charge_id=charge.id,
        issue_group_id=group.id,
        revoked_remainder=ZERO,
        consumed_to_negative=ZERO,
        created_at=ctx.now,
    )
    ctx.session.add(grant)
    ctx.session.flush()

    # Covering closes outstanding negative balance oldest first; booked at min(now, effective_at).
    cover_at = min(ctx.now, terms.effective_at)
    for record, take in covers:
        group.post(
            "grant_issue", "receivable", currency, take,
            cost_basis=None, status="open", source=("negative_balance", record.id), booked_at=cover_at,
        )
        ctx.session.add(
            LedgerCoverRow(
                id=new_id(),
                namespace=ctx.namespace,
                customer_id=ctx.customer_id,
                grant_id=grant.id,
                negative_balance_id=record.id,
                amount=take,
                group_id=group.id,
                booked_at=cover_at,
                created_at=ctx.now,
            )
        )
    purchase = ("purchase", charge.id)
    group.post("grant_issue", "fbo", currency, amount - covered, lot_id=grant.id, cost_basis=basis)
    group.post("grant_issue", "receivable", currency, -amount, cost_basis=basis, status="open", source=purchase)
    if promotional:
        group.post("promotional_settle", "receivable", currency, amount, cost_basis=basis, status="open", source=purchase)
        group.post("promotional_settle", "receivable", currency, -amount, cost_basis=basis, status="authorized", source=purchase)
        group.post("promotional_settle", "receivable", currency, amount, cost_basis=basis, status="authorized", source=purchase)
        group.post("promotional_settle", "wash", currency, -amount, cost_basis=basis)
    group.close()
    ctx.log.info("ledger.granted", charge_id=charge.id, grant_id=grant.id, amount=str(amount), covered=str(covered))
    return group.id


def _cover_plan(ctx: LedgerContext, terms: PurchaseTerms, amount: Decimal) -> list[tuple[LedgerNegativeBalanceRow, Decimal]]:
    plan: list[tuple[LedgerNegativeBalanceRow, Decimal]] = []
    left = amount
    for record in record_rows(ctx.session, ctx.namespace, ctx.customer_id, terms.credit_currency):
        if left == 0:
            break
        if terms.feature_filters and not feature_eligible(terms.feature_filters, record.feature_key):
            continue
        owed = outstanding(ctx.session, ctx.namespace, record.id)
        if owed <= 0:
            continue
        take = min(left, owed)
        plan.append((record, take))
        left -= take
    return plan


def require_grant(ctx: LedgerContext, charge: ChargeRef) -> LedgerGrantRow:
    grant = grant_row_for_charge(ctx.session, ctx.namespace, charge.id)
    if grant is None:
        raise LedgerNotFoundError(f"credit purchase {charge.id} has no grant in the ledger")
    return grant


def is_settled(ctx: LedgerContext, charge_id: str) -> bool:
    return (
        ctx.session.scalars(
            select(LedgerGroupRow.id).where(
                LedgerGroupRow.namespace == ctx.namespace,
                LedgerGroupRow.charge_id == charge_id,
                LedgerGroupRow.kind == "payment_settle",
            )
        ).first()
        is not None
    )


def void_manually(ctx: LedgerContext, charge: ChargeRef, event_at: dt.datetime) -> str:
    event_at = require_instant(event_at, field="event_at")
    grant = require_grant(ctx, charge)
    if grant.voided_at is not None:
        raise LedgerConflictError(f"grant {grant.id} of credit purchase {charge.id} is already voided")
    if grant.expires_at is not None and grant.expires_at <= max(event_at, ctx.now):
        raise LedgerConflictError(f"grant {grant.id} of credit purchase {charge.id} has expired and cannot be voided")
    remainder = lot_balance(ctx.session, ctx.namespace, grant.id)
    group = GroupWriter(ctx, "grant_void", event_at, charge_id=charge.id, grant_id=grant.id)
    group.post("grant_void", "fbo", grant.currency, -remainder, lot_id=grant.id, cost_basis=grant.cost_basis)
    group.post(
        "grant_void", "receivable", grant.currency, remainder,
        cost_basis=grant.cost_basis, status="open", source=("purchase", charge.id),
    )
    grant.revoked_remainder = grant.revoked_remainder + remainder
    grant.voided_at = event_at
    grant.void_kind = "manual"
    grant.void_group_id = group.id
    group.close()
    ctx.log.info("ledger.grant.voided", charge_id=charge.id, grant_id=grant.id, revoked=str(remainder))
    return group.id


def void_purchase(ctx: LedgerContext, charge: ChargeRef, event_at: dt.datetime, reason: str) -> str:
    event_at = require_instant(event_at, field="event_at")
    if reason not in VOID_REASONS:
        raise LedgerValidationError(f"credit purchase {charge.id}: void reason must be one of {VOID_REASONS}, got {reason!r}")
    terms = purchase_terms(charge)
    if terms.settlement != "invoice":
        raise LedgerValidationError(
            f"credit purchase {charge.id} is settled {terms.settlement!r}: only an invoice-settled purchase is voided "
            "with its invoice"
        )
    grant = require_grant(ctx, charge)
    if grant.void_kind == "invoice":
        raise LedgerConflictError(f"credit purchase {charge.id} is already voided (group {grant.void_group_id})")
    if is_settled(ctx, charge.id):
        raise LedgerConflictError(f"credit purchase {charge.id} is already settled and cannot be voided")
    purchase = ("purchase", charge.id)
    basis = grant.cost_basis
    group = GroupWriter(ctx, "purchase_void", event_at, charge_id=charge.id, grant_id=grant.id, reason=reason)

    # 1. reverse an outstanding authorization
    if terms.fiat_currency is not None:
        authorized = -receivable(ctx.session, ctx.namespace, *purchase, status="authorized", currency=terms.fiat_currency)
        if authorized > 0:
            group.post("purchase_void", "receivable", terms.fiat_currency, authorized, cost_basis=basis, status="authorized", source=purchase)
            group.post("purchase_void", "receivable", terms.fiat_currency, -authorized, cost_basis=basis, status="open", source=purchase)
    # 2. reverse the conversion, entry by entry
    for entry in _conversion_entries(ctx, charge.id):
        group.post(
            "purchase_void", entry.account, entry.currency, -entry.amount,  # type: ignore[arg-type]
            lot_id=entry.lot_id, cost_basis=entry.cost_basis, status=entry.receivable_status,  # type: ignore[arg-type]
            source=(entry.source_kind, entry.source_id) if entry.source_kind else None,  # type: ignore[arg-type]
        )
    # 3. revoke the unconsumed remainder and any expired part
    remainder = lot_balance(ctx.session, ctx.namespace, grant.id)
    expired = net_breakage(ctx.session, ctx.namespace, grant.id)
    group.post("purchase_void", "fbo", grant.currency, -remainder, lot_id=grant.id, cost_basis=basis)
    group.post("purchase_void", "breakage", grant.currency, -expired, lot_id=grant.id, cost_basis=basis)
    group.post("purchase_void", "receivable", grant.currency, remainder + expired, cost_basis=basis, status="open", source=purchase)
    # 4. the consumed part becomes a negative balance
    consumed = -receivable(ctx.session, ctx.namespace, *purchase, currency=grant.currency)
    if consumed < 0:
        raise LedgerInvariantError(f"credit purchase {charge.id}: its receivable is {-consumed} after revoking the lot")
    record_id = None
    if consumed > 0:
        record = LedgerNegativeBalanceRow(
            id=new_id(),
            namespace=ctx.namespace,
            customer_id=ctx.customer_id,
            currency=grant.currency,
            feature_key=None,
            amount=consumed,
            source_kind="purchase",
            source_id=charge.id,
            charge_id=charge.id,
            group_id=group.id,
            booked_at=event_at,
            created_at=ctx.now,
        )
        ctx.session.add(record)
        ctx.session.flush()
        record_id = record.id
        group.post("purchase_void", "receivable", grant.currency, consumed, cost_basis=basis, status="open", source=purchase)
        group.post(
            "purchase_void", "receivable", grant.currency, -consumed,
            cost_basis=None, status="open", source=("negative_balance", record.id),
        )
    left = [
        (currency, total)
        for currency in {grant.currency, terms.fiat_currency} - {None}
        if (total := receivable(ctx.session, ctx.namespace, *purchase, currency=currency)) != 0
    ]
    if left:
        raise LedgerInvariantError(f"credit purchase {charge.id}: its receivable is not closed by the void: {left}")
    grant.revoked_remainder = grant.revoked_remainder + remainder + expired
    grant.consumed_to_negative = consumed
    grant.voided_at = grant.voided_at or event_at
    grant.void_kind = "invoice"
    grant.void_group_id = group.id
    grant.negative_balance_id = record_id
    group.close()
    ctx.log.info(
        "ledger.purchase.voided", charge_id=charge.id, grant_id=grant.id, reason=reason,
        revoked=str(remainder + expired), negative_balance=str(consumed),
    )
    return group.id


def _conversion_entries(ctx: LedgerContext, charge_id: str) -> list[LedgerEntryRow]:
    return list(
        ctx.session.scalars(
            select(LedgerEntryRow)
            .join(LedgerGroupRow, LedgerGroupRow.id == LedgerEntryRow.group_id)
            .where(
                LedgerGroupRow.namespace == ctx.namespace,
                LedgerGroupRow.charge_id == charge_id,
                LedgerEntryRow.posting == "payment_convert",
            )
            .order_by(LedgerEntryRow.sequence)
        )
    )
