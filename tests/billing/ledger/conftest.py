"""Ledger fixtures: a store with the custom currencies of the specs (TOKENS precision 3, CREDITS 2) on
every backend of ``database`` (SQLite, and PostgreSQL when configured), and helpers that read a
group's postings in a comparable form."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.ledger import StoreLedger, TransactionGroup, check_invariants
from billing.money import canonical_text
from billing.store import Store
from billing.store.ledger_tables import APPEND_ONLY, LedgerGrantRow
from tests.billing.ledger.builders import CUSTOMER, NS

CUSTOM_CURRENCIES = {"TOKENS": 3, "CREDITS": 2}


@pytest.fixture
def store(database, clock):
    url, schema = database
    instance = Store(url, clock=clock, schema=schema, custom_currencies=CUSTOM_CURRENCIES)
    instance.create_all()
    yield instance
    instance.dispose()


@pytest.fixture
def ledger(store):
    return StoreLedger(store)


def leg(
    posting: str,
    account: str,
    amount: str,
    *,
    currency: str = "USD",
    lot: str | None = None,
    basis: str | None = None,
    status: str | None = None,
    source: str | None = None,
) -> tuple:
    """An expected posting; ``source`` is ``kind:id``."""
    return (posting, account, currency, canonical_text(Decimal(amount)), lot, None if basis is None else canonical_text(Decimal(basis)), status, source)


def legs(group: TransactionGroup) -> Counter:
    """The group's postings as a multiset of ``leg`` tuples."""
    return Counter(
        (
            e.posting,
            e.account,
            e.currency,
            canonical_text(e.amount),
            e.lot_id,
            None if e.cost_basis is None else canonical_text(e.cost_basis),
            e.receivable_status,
            None if e.source_kind is None else f"{e.source_kind}:{e.source_id}",
        )
        for e in group.entries
    )


def assert_legs(group: TransactionGroup, *expected: tuple) -> None:
    assert legs(group) == Counter(expected)
    assert all(total == 0 for total in group.sums().values())


def assert_consistent(store, customer_id: str = CUSTOMER, namespace: str = NS) -> None:
    assert check_invariants(store, namespace, customer_id) == []


def row_counts(store) -> dict[str, object]:
    """Rows of every ledger table (append-only ones and grants), to prove an error wrote nothing."""
    with store.engine.connect() as connection:
        counts = {
            cls.__tablename__: connection.execute(select(func.count()).select_from(cls)).scalar_one()
            for cls in (*APPEND_ONLY, LedgerGrantRow)
        }
        grants = connection.execute(
            select(LedgerGrantRow.id, LedgerGrantRow.revoked_remainder, LedgerGrantRow.voided_at).order_by(LedgerGrantRow.id)
        ).all()
    return {**counts, "grant_state": [tuple(row) for row in grants]}
