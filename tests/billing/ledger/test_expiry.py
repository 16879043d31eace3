"""Expiry (§2.8): balances exclude an expired lot before its group is written; the first operation at
or after ``expires_at`` writes it, at most once per grant; voided grants never expire."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from billing.errors import StoreIntegrityError
from billing.ledger import LedgerConflictError
from billing.store.ledger_tables import LedgerGroupRow
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent, row_counts


def _breakage_groups(store) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(LedgerGroupRow).where(LedgerGroupRow.kind == "breakage")
        ).scalar_one()


def test_balances_exclude_the_lot_from_expires_at_even_before_the_group_is_written(ledger, store, clock):
    ledger.on_promotional_credit_purchase(purchase("10", expires_at=at(10)))
    ledger.on_promotional_credit_purchase(purchase("5"))
    clock.set(at(15))
    assert _breakage_groups(store) == 0  # nothing ran since the lot expired
    assert ledger.balance(NS, CUSTOMER, "USD") == 5
    assert ledger.balance(NS, CUSTOMER, "USD", as_of=at(9)) == 15
    assert ledger.balance(NS, CUSTOMER, "USD", as_of=at(10)) == 5
    assert ledger.available(NS, CUSTOMER, "USD") == 5
    assert ledger.projection(NS, CUSTOMER, "USD").fbo_all == 5


def test_the_first_operation_after_expiry_writes_it_once(ledger, store, clock):
    lot = purchase("10", expires_at=at(10))
    ledger.on_promotional_credit_purchase(lot)
    clock.set(at(15))
    result = ledger.consume(consumer(), run_id="r", amount=D(3), feature_key=None, booked_at=at(15), source_as_of=at(15), mode="credit_only")
    assert result.from_credit == 0 and result.negative_balance == 3
    assert _breakage_groups(store) == 1
    assert ledger.expire_due(NS, CUSTOMER) == []
    ledger.consume(consumer(), run_id="s", amount=D(1), feature_key=None, booked_at=at(15), source_as_of=at(15), mode="credit_only")
    clock.set(at(20))
    assert ledger.expire_due(NS, CUSTOMER) == []
    assert _breakage_groups(store) == 1
    [group] = [g for g in ledger.groups(NS, CUSTOMER) if g.kind == "breakage"]
    assert group.booked_at == at(10) and group.recorded_at == at(15)
    assert ledger.balance(NS, CUSTOMER, "USD") == -4
    assert_consistent(store)


def test_nothing_expires_before_expires_at(ledger, store, clock):
    ledger.on_promotional_credit_purchase(purchase("10", expires_at=at(10)))
    clock.set(at(9, hour=23))
    assert ledger.expire_due(NS, CUSTOMER) == []
    assert ledger.balance(NS, CUSTOMER, "USD") == 10


def test_a_fully_consumed_lot_writes_no_breakage(ledger, store, clock):
    ledger.on_promotional_credit_purchase(purchase("10", expires_at=at(10)))
    ledger.consume(consumer(), run_id="r", amount=D(10), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    clock.set(at(11))
    assert ledger.expire_due(NS, CUSTOMER) == []


def test_a_voided_grant_never_expires_and_an_expired_grant_cannot_be_voided(ledger, store, clock):
    voided = purchase("10", settlement="invoice", expires_at=at(10))
    expiring = purchase("10", settlement="invoice", expires_at=at(10))
    ledger.on_credit_purchase_initiated(voided)
    ledger.on_credit_purchase_initiated(expiring)
    ledger.on_credit_grant_voided(voided, T0)
    clock.set(at(12))
    [written] = ledger.expire_due(NS, CUSTOMER)
    assert ledger.group(NS, written).grant_id == ledger.grant_for_charge(NS, expiring.id).id
    before = row_counts(store)
    with pytest.raises(LedgerConflictError, match="expired"):
        ledger.on_credit_grant_voided(expiring, at(12))
    with pytest.raises(LedgerConflictError, match="already voided"):
        ledger.on_credit_grant_voided(voided, at(12))
    assert row_counts(store) == before
    assert_consistent(store)


def test_the_store_refuses_a_second_expiry_group_for_a_grant(ledger, store, clock):
    charge = purchase("10", expires_at=at(10))
    ledger.on_promotional_credit_purchase(charge)
    clock.set(at(11))
    ledger.expire_due(NS, CUSTOMER)
    grant = ledger.grant_for_charge(NS, charge.id)
    with pytest.raises(StoreIntegrityError):
        with store.unit_of_work() as uow:
            uow.session.add(
                LedgerGroupRow(
                    id="second-expiry", namespace=NS, customer_id=CUSTOMER, kind="breakage",
                    booked_at=at(10), recorded_at=at(11), grant_id=grant.id,
                )
            )
    assert _breakage_groups(store) == 1
