"""The credit ledger's tables (charges.md §2), imported by ``billing.store.tables`` so that they share
its ``Base`` (one metadata, one migration history).

Append-only: transaction groups, entries, allocations (consumption slices), corrections, covers,
uncovers and negative-balance records are only ever inserted; an ORM guard refuses any UPDATE or
DELETE of them (invariant §2.11.6). A grant row is the one mutable record: its void fields
(``voided_at``, ``void_kind``, ``revoked_remainder``, ``consumed_to_negative``, ``void_group_id``,
``negative_balance_id``) are set by a void and by a correction forfeited to a voided lot, always
together with the entries that move the value.

Money columns are ``DecimalText`` (PostgreSQL ``NUMERIC``, SQLite canonical decimal text). Sums are
computed in Python: SQLite's ``SUM`` over text would go through floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from billing.store.column_types import JsonDocument
from billing.store.tables import Base, _partial


def _sequence() -> Mapped[int]:
    return mapped_column("sequence", Integer, primary_key=True, autoincrement=True)


class LedgerGroupRow(Base):
    """A transaction group: the postings of one ledger operation, summing to zero per currency."""

    __tablename__ = "ledger_transaction_groups"
    __table_args__ = (
        Index("ix_ledger_transaction_groups_customer", "namespace", "customer_id"),
        Index("ix_ledger_transaction_groups_charge", "namespace", "charge_id"),
        # Expiry is written at most once per grant (§2.8); one issue group per grant.
        Index(
            "ix_ledger_transaction_groups_one_expiry",
            "namespace",
            "grant_id",
            unique=True,
            **_partial("kind = 'breakage' AND grant_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_transaction_groups_one_issue",
            "namespace",
            "grant_id",
            unique=True,
            **_partial("kind = 'grant_issue' AND grant_id IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    booked_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime]
    charge_id: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    grant_id: Mapped[str | None] = mapped_column(String(64))
    negative_balance_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(64))


class LedgerEntryRow(Base):
    """One posting: an amount on one account with its dimensions (§2.2)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_customer_account", "namespace", "customer_id", "account"),
        Index("ix_ledger_entries_source", "namespace", "source_kind", "source_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"), index=True)
    #: The §2.9 posting kind this entry belongs to (a group may hold several, e.g. grant_issue + promotional_settle).
    posting: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal]
    #: Business time of this entry; the group's ``booked_at`` except for covering legs (§2.9).
    booked_at: Mapped[dt.datetime]
    #: The grant (lot) of an ``fbo`` or ``breakage`` entry.
    lot_id: Mapped[str | None] = mapped_column(String(64))
    #: Cost-basis dimension; NULL is "none".
    cost_basis: Mapped[Decimal | None]
    #: ``open`` or ``authorized`` on receivable entries.
    receivable_status: Mapped[str | None] = mapped_column(String(16))
    #: Receivable source: ``purchase`` (charge id), ``run`` (run id) or ``negative_balance`` (record id).
    source_kind: Mapped[str | None] = mapped_column(String(24))
    source_id: Mapped[str | None] = mapped_column(String(64))


class LedgerGrantRow(Base):
    """A lot of spendable credit created by exactly one credit purchase (§2.3)."""

    __tablename__ = "ledger_grants"
    __table_args__ = (
        UniqueConstraint("namespace", "source_charge_id"),
        Index("ix_ledger_grants_customer", "namespace", "customer_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal]
    covered_at_issue: Mapped[Decimal]
    priority: Mapped[int] = mapped_column(Integer)
    effective_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    feature_filters: Mapped[list[Any]] = mapped_column(JsonDocument)
    cost_basis: Mapped[Decimal | None]
    source_charge_id: Mapped[str] = mapped_column(String(64))
    issue_group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"))
    revoked_remainder: Mapped[Decimal]
    consumed_to_negative: Mapped[Decimal]
    voided_at: Mapped[dt.datetime | None]
    #: ``manual`` (§5.7) or ``invoice`` (§5.6.11).
    void_kind: Mapped[str | None] = mapped_column(String(16))
    void_group_id: Mapped[str | None] = mapped_column(String(64))
    #: The negative-balance record an invoice void opened for the consumed part.
    negative_balance_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class LedgerNegativeBalanceRow(Base):
    """Credit consumed that nobody has paid for (§2.4); ``outstanding`` is read from its receivable."""

    __tablename__ = "ledger_negative_balances"
    __table_args__ = (
        Index("ix_ledger_negative_balances_customer", "namespace", "customer_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    feature_key: Mapped[str | None] = mapped_column(String(128))
    amount: Mapped[Decimal]
    #: ``run`` (a credit_only shortfall) or ``purchase`` (the consumed part of a voided purchase).
    source_kind: Mapped[str] = mapped_column(String(24))
    source_id: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str | None] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"))
    booked_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class LedgerAllocationRow(Base):
    """One consumption slice (§2.6): from a lot or from a negative-balance record."""

    __tablename__ = "ledger_allocations"
    __table_args__ = (
        Index("ix_ledger_allocations_run", "namespace", "charge_id", "run_id"),
        Index("ix_ledger_allocations_customer", "namespace", "customer_id"),
        {"sqlite_autoincrement": True},
    )

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"))
    charge_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(64))
    #: ``lot`` or ``negative_balance``.
    source_kind: Mapped[str] = mapped_column(String(24))
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_grants.id"))
    negative_balance_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_negative_balances.id"))
    amount: Mapped[Decimal]
    cost_basis: Mapped[Decimal | None]
    booked_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class LedgerCorrectionRow(Base):
    """The part of one allocation reversed by one correction group (§2.7)."""

    __tablename__ = "ledger_corrections"
    __table_args__ = ({"sqlite_autoincrement": True},)

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"))
    allocation_id: Mapped[str] = mapped_column(ForeignKey("ledger_allocations.id"), index=True)
    amount: Mapped[Decimal]
    booked_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class LedgerCoverRow(Base):
    """The part of a negative-balance record a grant closed when it was issued (§2.4)."""

    __tablename__ = "ledger_covers"
    __table_args__ = ({"sqlite_autoincrement": True},)

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    grant_id: Mapped[str] = mapped_column(ForeignKey("ledger_grants.id"), index=True)
    negative_balance_id: Mapped[str] = mapped_column(ForeignKey("ledger_negative_balances.id"), index=True)
    amount: Mapped[Decimal]
    group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"))
    booked_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class LedgerUncoverRow(Base):
    """Value a correction returned through a cover to the covering grant's lot (§2.7, third case)."""

    __tablename__ = "ledger_uncovers"
    __table_args__ = ({"sqlite_autoincrement": True},)

    sequence: Mapped[int] = _sequence()
    id: Mapped[str] = mapped_column(String(64), unique=True)
    namespace: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    cover_id: Mapped[str] = mapped_column(ForeignKey("ledger_covers.id"), index=True)
    amount: Mapped[Decimal]
    group_id: Mapped[str] = mapped_column(ForeignKey("ledger_transaction_groups.id"))
    booked_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


APPEND_ONLY = (
    LedgerGroupRow,
    LedgerEntryRow,
    LedgerNegativeBalanceRow,
    LedgerAllocationRow,
    LedgerCorrectionRow,
    LedgerCoverRow,
    LedgerUncoverRow,
)


class AppendOnlyViolation(RuntimeError):
    """An UPDATE or DELETE of an append-only ledger row was attempted (a programming error)."""


def _refuse(operation: str):  # type: ignore[no-untyped-def]
    def listener(_mapper, _connection, target) -> None:  # type: ignore[no-untyped-def]
        raise AppendOnlyViolation(
            f"ledger rows are append-only: refused to {operation} {type(target).__tablename__} {target.id!r}"
        )

    return listener


for _row_class in APPEND_ONLY:
    event.listen(_row_class, "before_update", _refuse("update"))
    event.listen(_row_class, "before_delete", _refuse("delete"))
