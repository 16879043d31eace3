"""Payments (charges.md §2.9): credit-purchase authorization (with the one-time ``payment_convert``),
settlement and authorization reversal; run accrual of invoiced usage, run authorization and settlement.

Each step checks the receivable it moves, so a replay that reaches the ledger (which the charge
lifecycles prevent by checking their own facts first) is refused instead of booked twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from billing.ledger.errors import LedgerConflictError, LedgerPreconditionError, LedgerValidationError
from billing.ledger.grants import is_settled, require_grant
from billing.ledger.models import ChargeRef
from billing.ledger.postings import GroupWriter, LedgerContext, require_instant
from billing.ledger.queries import receivable
from billing.ledger.terms import purchase_terms
from billing.store.ledger_tables import LedgerEntryRow, LedgerGroupRow

#: The cost basis of invoiced fiat usage (credit_then_invoice overage), §2.2.
INVOICE_COST_BASIS = Decimal(1)


def _has_conversion(ctx: LedgerContext, charge_id: str) -> bool:
    return (
        ctx.session.scalars(
            select(LedgerEntryRow.id)
            .join(LedgerGroupRow, LedgerGroupRow.id == LedgerEntryRow.group_id)
            .where(
                LedgerGroupRow.namespace == ctx.namespace,
                LedgerGroupRow.charge_id == charge_id,
                LedgerEntryRow.posting == "payment_convert",
            )
        ).first()
        is not None
    )


def _purchase(ctx: LedgerContext, charge: ChargeRef, fiat_amount: Decimal, event_at: dt.datetime):  # type: ignore[no-untyped-def]
    event_at = require_instant(event_at, field="event_at")
    terms = purchase_terms(charge)
    if terms.promotional or terms.fiat_currency is None:
        raise LedgerValidationError(f"credit purchase {charge.id} is promotional: it has no payment")
    grant = require_grant(ctx, charge)
    fiat = ctx.require_money(fiat_amount, terms.fiat_currency, field=f"fiat amount of purchase {charge.id}")
    return terms, grant, fiat, event_at


def authorize_purchase(ctx: LedgerContext, charge: ChargeRef, event_at: dt.datetime, fiat_amount: Decimal) -> str:
    terms, grant, fiat, event_at = _purchase(ctx, charge, fiat_amount, event_at)
    assert terms.fiat_currency is not None
    if grant.void_kind == "invoice":
        raise LedgerPreconditionError(f"credit purchase {charge.id} is voided: its payment cannot be authorized")
    if is_settled(ctx, charge.id):
        raise LedgerConflictError(f"credit purchase {charge.id} is already settled")
    purchase = ("purchase", charge.id)
    if receivable(ctx.session, ctx.namespace, *purchase, status="authorized", currency=terms.fiat_currency) != 0:
        raise LedgerConflictError(f"credit purchase {charge.id} already has an authorized payment")
    basis = grant.cost_basis
    group = GroupWriter(ctx, "payment_authorize", event_at, charge_id=charge.id, grant_id=grant.id)
    custom = terms.fiat_currency != terms.credit_currency
    if (custom or fiat != grant.amount) and not _has_conversion(ctx, charge.id):
        group.post("payment_convert", "receivable", terms.credit_currency, grant.amount, cost_basis=basis, status="open", source=purchase)
        group.post("payment_convert", "brokerage", terms.credit_currency, -grant.amount)
        group.post("payment_convert", "brokerage", terms.fiat_currency, fiat)
        group.post("payment_convert", "receivable", terms.fiat_currency, -fiat, cost_basis=basis, status="open", source=purchase)
    group.post("payment_authorize", "receivable", terms.fiat_currency, fiat, cost_basis=basis, status="open", source=purchase)
    group.post("payment_authorize", "receivable", terms.fiat_currency, -fiat, cost_basis=basis, status="authorized", source=purchase)
    return group.close()


def settle_purchase(ctx: LedgerContext, charge: ChargeRef, event_at: dt.datetime, fiat_amount: Decimal) -> str:
    terms, grant, fiat, event_at = _purchase(ctx, charge, fiat_amount, event_at)
    assert terms.fiat_currency is not None
    purchase = ("purchase", charge.id)
    if is_settled(ctx, charge.id):
        raise LedgerConflictError(f"credit purchase {charge.id} is already settled")
    authorized = -receivable(ctx.session, ctx.namespace, *purchase, status="authorized", currency=terms.fiat_currency)
    if authorized < fiat:
        raise LedgerPreconditionError(
            f"credit purchase {charge.id}: cannot settle {fiat} {terms.fiat_currency}, only {authorized} is authorized"
        )
    group = GroupWriter(ctx, "payment_settle", event_at, charge_id=charge.id, grant_id=grant.id)
    group.post("payment_settle", "receivable", terms.fiat_currency, fiat, cost_basis=grant.cost_basis, status="authorized", source=purchase)
    group.post("payment_settle", "wash", terms.fiat_currency, -fiat, cost_basis=grant.cost_basis)
    return group.close()


def reverse_purchase_authorization(ctx: LedgerContext, charge: ChargeRef, event_at: dt.datetime, fiat_amount: Decimal) -> str:
    terms, grant, fiat, event_at = _purchase(ctx, charge, fiat_amount, event_at)
    assert terms.fiat_currency is not None
    purchase = ("purchase", charge.id)
    authorized = -receivable(ctx.session, ctx.namespace, *purchase, status="authorized", currency=terms.fiat_currency)
    if authorized < fiat:
        raise LedgerPreconditionError(
            f"credit purchase {charge.id}: cannot reverse {fiat} {terms.fiat_currency}, only {authorized} is authorized"
        )
    group = GroupWriter(ctx, "payment_authorization_reverse", event_at, charge_id=charge.id, grant_id=grant.id)
    basis = grant.cost_basis
    group.post("payment_authorization_reverse", "receivable", terms.fiat_currency, fiat, cost_basis=basis, status="authorized", source=purchase)
    group.post("payment_authorization_reverse", "receivable", terms.fiat_currency, -fiat, cost_basis=basis, status="open", source=purchase)
    return group.close()


# -- runs (flat fee and usage based, credit_then_invoice) ---------------------------------------------


def _total_of(totals: Any, charge: ChargeRef, run_id: str) -> Decimal:
    total = totals if isinstance(totals, (Decimal, int)) and not isinstance(totals, bool) else getattr(totals, "total", None)
    if total is None:
        raise LedgerValidationError(f"charge {charge.id} run {run_id}: totals carry no total ({totals!r})")
    return total


def _run_has(ctx: LedgerContext, run_id: str, kind: str) -> bool:
    return (
        ctx.session.scalars(
            select(LedgerGroupRow.id).where(
                LedgerGroupRow.namespace == ctx.namespace, LedgerGroupRow.run_id == run_id, LedgerGroupRow.kind == kind
            )
        ).first()
        is not None
    )


def accrue_invoiced_usage(ctx: LedgerContext, charge: ChargeRef, run_id: str, totals: Any, booked_at: dt.datetime) -> str:
    booked_at = require_instant(booked_at, field="booked_at")
    _require_run(charge, run_id)
    overage = ctx.require_money(_total_of(totals, charge, run_id), charge.currency, field=f"invoiced total of run {run_id}")
    if _run_has(ctx, run_id, "invoice_usage_accrue"):
        raise LedgerConflictError(f"charge {charge.id} run {run_id}: invoiced usage is already accrued")
    group = GroupWriter(ctx, "invoice_usage_accrue", booked_at, charge_id=charge.id, run_id=run_id)
    group.post(
        "invoice_usage_accrue", "receivable", charge.currency, -overage,
        cost_basis=INVOICE_COST_BASIS, status="open", source=("run", run_id),
    )
    group.post("invoice_usage_accrue", "accrued", charge.currency, overage, cost_basis=INVOICE_COST_BASIS)
    return group.close()


def authorize_run(ctx: LedgerContext, charge: ChargeRef, run_id: str, event_at: dt.datetime, fiat_amount: Decimal) -> str:
    event_at = require_instant(event_at, field="event_at")
    _require_run(charge, run_id)
    fiat = ctx.require_money(fiat_amount, charge.currency, field=f"fiat amount of run {run_id}")
    source = ("run", run_id)
    owed = -receivable(ctx.session, ctx.namespace, *source, status="open", currency=charge.currency)
    if owed < fiat:
        raise LedgerPreconditionError(
            f"charge {charge.id} run {run_id}: cannot authorize {fiat}, only {owed} is accrued and open"
        )
    group = GroupWriter(ctx, "payment_authorize", event_at, charge_id=charge.id, run_id=run_id)
    group.post("payment_authorize", "receivable", charge.currency, fiat, cost_basis=INVOICE_COST_BASIS, status="open", source=source)
    group.post("payment_authorize", "receivable", charge.currency, -fiat, cost_basis=INVOICE_COST_BASIS, status="authorized", source=source)
    return group.close()


def settle_run(ctx: LedgerContext, charge: ChargeRef, run_id: str, event_at: dt.datetime, fiat_amount: Decimal) -> str:
    event_at = require_instant(event_at, field="event_at")
    _require_run(charge, run_id)
    fiat = ctx.require_money(fiat_amount, charge.currency, field=f"fiat amount of run {run_id}")
    source = ("run", run_id)
    authorized = -receivable(ctx.session, ctx.namespace, *source, status="authorized", currency=charge.currency)
    if authorized < fiat:
        raise LedgerPreconditionError(
            f"charge {charge.id} run {run_id}: cannot settle {fiat}, only {authorized} is authorized"
        )
    group = GroupWriter(ctx, "payment_settle", event_at, charge_id=charge.id, run_id=run_id)
    group.post("payment_settle", "receivable", charge.currency, fiat, cost_basis=INVOICE_COST_BASIS, status="authorized", source=source)
    group.post("payment_settle", "wash", charge.currency, -fiat, cost_basis=INVOICE_COST_BASIS)
    return group.close()


def _require_run(charge: ChargeRef, run_id: str) -> None:
    if not isinstance(run_id, str) or not run_id:
        raise LedgerValidationError(f"charge {charge.id}: run_id must be a non-empty string, got {run_id!r}")
