"""Reads of the ledger tables for one customer: rows, lot balances, outstanding negative balances and
receivables. Sums run in Python (exact ``Decimal``); ``billing.ledger.rows`` turns rows into values."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.store.ledger_tables import (
    LedgerAllocationRow,
    LedgerCorrectionRow,
    LedgerCoverRow,
    LedgerEntryRow,
    LedgerGrantRow,
    LedgerGroupRow,
    LedgerNegativeBalanceRow,
    LedgerUncoverRow,
)

ZERO = Decimal(0)


def grant_rows(session: Session, namespace: str, customer_id: str, currency: str | None = None) -> list[LedgerGrantRow]:
    query = select(LedgerGrantRow).where(LedgerGrantRow.namespace == namespace, LedgerGrantRow.customer_id == customer_id)
    if currency is not None:
        query = query.where(LedgerGrantRow.currency == currency)
    return list(session.scalars(query.order_by(LedgerGrantRow.sequence)))


def grant_row(session: Session, namespace: str, grant_id: str) -> LedgerGrantRow | None:
    return session.scalars(
        select(LedgerGrantRow).where(LedgerGrantRow.namespace == namespace, LedgerGrantRow.id == grant_id)
    ).one_or_none()


def grant_row_for_charge(session: Session, namespace: str, charge_id: str) -> LedgerGrantRow | None:
    return session.scalars(
        select(LedgerGrantRow).where(
            LedgerGrantRow.namespace == namespace, LedgerGrantRow.source_charge_id == charge_id
        )
    ).one_or_none()


def record_rows(
    session: Session, namespace: str, customer_id: str, currency: str | None = None
) -> list[LedgerNegativeBalanceRow]:
    query = select(LedgerNegativeBalanceRow).where(
        LedgerNegativeBalanceRow.namespace == namespace, LedgerNegativeBalanceRow.customer_id == customer_id
    )
    if currency is not None:
        query = query.where(LedgerNegativeBalanceRow.currency == currency)
    return list(session.scalars(query.order_by(LedgerNegativeBalanceRow.sequence)))


def record_row(session: Session, namespace: str, record_id: str) -> LedgerNegativeBalanceRow:
    return session.scalars(
        select(LedgerNegativeBalanceRow).where(
            LedgerNegativeBalanceRow.namespace == namespace, LedgerNegativeBalanceRow.id == record_id
        )
    ).one()


def entry_rows(
    session: Session,
    namespace: str,
    customer_id: str,
    *,
    account: str | None = None,
    currency: str | None = None,
) -> list[LedgerEntryRow]:
    query = select(LedgerEntryRow).where(LedgerEntryRow.namespace == namespace, LedgerEntryRow.customer_id == customer_id)
    if account is not None:
        query = query.where(LedgerEntryRow.account == account)
    if currency is not None:
        query = query.where(LedgerEntryRow.currency == currency)
    return list(session.scalars(query.order_by(LedgerEntryRow.sequence)))


def source_entries(session: Session, namespace: str, source_kind: str, source_id: str) -> list[LedgerEntryRow]:
    return list(
        session.scalars(
            select(LedgerEntryRow)
            .where(
                LedgerEntryRow.namespace == namespace,
                LedgerEntryRow.source_kind == source_kind,
                LedgerEntryRow.source_id == source_id,
            )
            .order_by(LedgerEntryRow.sequence)
        )
    )


def lot_entries(session: Session, namespace: str, grant_id: str) -> list[LedgerEntryRow]:
    return list(
        session.scalars(
            select(LedgerEntryRow)
            .where(LedgerEntryRow.namespace == namespace, LedgerEntryRow.lot_id == grant_id)
            .order_by(LedgerEntryRow.sequence)
        )
    )


def lot_balances(session: Session, namespace: str, customer_id: str) -> dict[str, Decimal]:
    """Every lot's ``fbo`` balance over all its entries (whatever their booking time)."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    rows = session.execute(
        select(LedgerEntryRow.lot_id, LedgerEntryRow.amount).where(
            LedgerEntryRow.namespace == namespace,
            LedgerEntryRow.customer_id == customer_id,
            LedgerEntryRow.account == "fbo",
        )
    )
    for lot_id, amount in rows:
        balances[lot_id] += amount
    return balances


def lot_balance(session: Session, namespace: str, grant_id: str) -> Decimal:
    return sum((e.amount for e in lot_entries(session, namespace, grant_id) if e.account == "fbo"), ZERO)


def net_breakage(session: Session, namespace: str, grant_id: str) -> Decimal:
    return sum((e.amount for e in lot_entries(session, namespace, grant_id) if e.account == "breakage"), ZERO)


def receivable(
    session: Session,
    namespace: str,
    source_kind: str,
    source_id: str,
    *,
    status: str | None = None,
    currency: str | None = None,
    as_of: dt.datetime | None = None,
) -> Decimal:
    """The balance of the receivable owed for one source (negative = owed by the customer)."""
    total = ZERO
    for entry in source_entries(session, namespace, source_kind, source_id):
        if entry.account != "receivable":
            continue
        if status is not None and entry.receivable_status != status:
            continue
        if currency is not None and entry.currency != currency:
            continue
        if as_of is not None and entry.booked_at > as_of:
            continue
        total += entry.amount
    return total


def outstanding(session: Session, namespace: str, record_id: str, as_of: dt.datetime | None = None) -> Decimal:
    """What a negative-balance record still owes: minus its receivable."""
    return -receivable(session, namespace, "negative_balance", record_id, as_of=as_of)


def cover_rows(session: Session, namespace: str, *, record_id: str | None = None, grant_id: str | None = None) -> list[LedgerCoverRow]:
    query = select(LedgerCoverRow).where(LedgerCoverRow.namespace == namespace)
    if record_id is not None:
        query = query.where(LedgerCoverRow.negative_balance_id == record_id)
    if grant_id is not None:
        query = query.where(LedgerCoverRow.grant_id == grant_id)
    return list(session.scalars(query.order_by(LedgerCoverRow.sequence)))


def uncovered(session: Session, namespace: str, cover_ids: Iterable[str]) -> dict[str, Decimal]:
    ids = list(cover_ids)
    result: dict[str, Decimal] = defaultdict(Decimal)
    if not ids:
        return result
    for row in session.scalars(
        select(LedgerUncoverRow).where(LedgerUncoverRow.namespace == namespace, LedgerUncoverRow.cover_id.in_(ids))
    ):
        result[row.cover_id] += row.amount
    return result


def allocation_rows(
    session: Session, namespace: str, *, charge_id: str | None = None, run_id: str | None = None, customer_id: str | None = None
) -> list[LedgerAllocationRow]:
    query = select(LedgerAllocationRow).where(LedgerAllocationRow.namespace == namespace)
    if charge_id is not None:
        query = query.where(LedgerAllocationRow.charge_id == charge_id)
    if run_id is not None:
        query = query.where(LedgerAllocationRow.run_id == run_id)
    if customer_id is not None:
        query = query.where(LedgerAllocationRow.customer_id == customer_id)
    return list(session.scalars(query.order_by(LedgerAllocationRow.sequence)))


def corrected(session: Session, namespace: str, allocation_ids: Iterable[str]) -> dict[str, Decimal]:
    ids = list(allocation_ids)
    result: dict[str, Decimal] = defaultdict(Decimal)
    if not ids:
        return result
    for row in session.scalars(
        select(LedgerCorrectionRow).where(
            LedgerCorrectionRow.namespace == namespace, LedgerCorrectionRow.allocation_id.in_(ids)
        )
    ):
        result[row.allocation_id] += row.amount
    return result


def group_rows(session: Session, namespace: str, customer_id: str) -> list[LedgerGroupRow]:
    return list(
        session.scalars(
            select(LedgerGroupRow)
            .where(LedgerGroupRow.namespace == namespace, LedgerGroupRow.customer_id == customer_id)
            .order_by(LedgerGroupRow.sequence)
        )
    )
