"""Ledger rows → frozen values (``billing.ledger.models``)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from billing.ledger.models import Allocation, Entry, Grant, NegativeBalance, TransactionGroup
from billing.store.ledger_tables import (
    LedgerAllocationRow,
    LedgerEntryRow,
    LedgerGrantRow,
    LedgerGroupRow,
    LedgerNegativeBalanceRow,
)

def entry_of(row: LedgerEntryRow) -> Entry:
    return Entry(
        id=row.id,
        group_id=row.group_id,
        posting=row.posting,  # type: ignore[arg-type]
        account=row.account,  # type: ignore[arg-type]
        currency=row.currency,
        amount=row.amount,
        booked_at=row.booked_at,
        lot_id=row.lot_id,
        cost_basis=row.cost_basis,
        receivable_status=row.receivable_status,  # type: ignore[arg-type]
        source_kind=row.source_kind,  # type: ignore[arg-type]
        source_id=row.source_id,
        sequence=row.sequence,
    )


def group_of(row: LedgerGroupRow, entries: Iterable[LedgerEntryRow]) -> TransactionGroup:
    return TransactionGroup(
        id=row.id,
        namespace=row.namespace,
        customer_id=row.customer_id,
        kind=row.kind,  # type: ignore[arg-type]
        booked_at=row.booked_at,
        recorded_at=row.recorded_at,
        charge_id=row.charge_id,
        run_id=row.run_id,
        grant_id=row.grant_id,
        negative_balance_id=row.negative_balance_id,
        reason=row.reason,
        entries=tuple(entry_of(e) for e in entries),
        sequence=row.sequence,
    )


def grant_of(row: LedgerGrantRow) -> Grant:
    return Grant(
        id=row.id,
        namespace=row.namespace,
        customer_id=row.customer_id,
        currency=row.currency,
        amount=row.amount,
        covered_at_issue=row.covered_at_issue,
        priority=row.priority,
        effective_at=row.effective_at,
        expires_at=row.expires_at,
        feature_filters=tuple(row.feature_filters or ()),
        cost_basis=row.cost_basis,
        source_charge_id=row.source_charge_id,
        issue_group_id=row.issue_group_id,
        revoked_remainder=row.revoked_remainder,
        consumed_to_negative=row.consumed_to_negative,
        voided_at=row.voided_at,
        void_kind=row.void_kind,  # type: ignore[arg-type]
        void_group_id=row.void_group_id,
        negative_balance_id=row.negative_balance_id,
        created_at=row.created_at,
        sequence=row.sequence,
    )


def record_of(row: LedgerNegativeBalanceRow, outstanding_amount: Decimal) -> NegativeBalance:
    return NegativeBalance(
        id=row.id,
        namespace=row.namespace,
        customer_id=row.customer_id,
        currency=row.currency,
        feature_key=row.feature_key,
        amount=row.amount,
        outstanding=outstanding_amount,
        source_kind=row.source_kind,  # type: ignore[arg-type]
        source_id=row.source_id,
        charge_id=row.charge_id,
        group_id=row.group_id,
        booked_at=row.booked_at,
        created_at=row.created_at,
        sequence=row.sequence,
    )


def allocation_of(row: LedgerAllocationRow, corrected_amount: Decimal) -> Allocation:
    return Allocation(
        id=row.id,
        charge_id=row.charge_id,
        run_id=row.run_id,
        currency=row.currency,
        source=row.source_kind,  # type: ignore[arg-type]
        grant_id=row.grant_id,
        negative_balance_id=row.negative_balance_id,
        amount=row.amount,
        corrected=corrected_amount,
        cost_basis=row.cost_basis,
        booked_at=row.booked_at,
        group_id=row.group_id,
        sequence=row.sequence,
    )
