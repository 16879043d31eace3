"""All-or-nothing operations in the caller's unit of work, the append-only guard, the unbalanced-group
refusal, and ``check_invariants`` reporting a corrupted ledger."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select, text, update

from billing.ledger import LedgerInvariantError, LedgerValidationError, check_invariants
from billing.ledger.corrections import Returns
from billing.ledger.postings import GroupWriter, LedgerContext
from billing.store.ledger_tables import AppendOnlyViolation, LedgerEntryRow
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent, row_counts
from tests.conftest import POSTGRES_URL_ENV


class Boom(Exception):
    pass


def test_operations_join_the_callers_transaction_and_roll_back_with_it(ledger, store):
    before = row_counts(store)
    with pytest.raises(Boom):
        with store.unit_of_work():
            ledger.on_promotional_credit_purchase(purchase("10"))
            ledger.consume(consumer(), run_id="r", amount=D(4), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
            assert ledger.balance(NS, CUSTOMER, "USD") == 6  # visible inside the transaction
            raise Boom
    assert row_counts(store) == before


def test_a_failed_operation_inside_a_transaction_leaves_nothing_and_the_rest_commits(ledger, store, clock):
    ledger.on_promotional_credit_purchase(purchase("10", expires_at=at(5)))
    clock.set(at(6))
    with store.unit_of_work():
        with pytest.raises(LedgerValidationError):
            # refused after its expiry pass ran: the breakage group goes with it
            ledger.consume(consumer(), run_id="r", amount=D("0.001"), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
        assert [g.kind for g in ledger.groups(NS, CUSTOMER)] == ["grant_issue"]
        ledger.on_promotional_credit_purchase(purchase("3"))
    assert [g.kind for g in ledger.groups(NS, CUSTOMER)] == ["grant_issue", "breakage", "grant_issue"]
    assert_consistent(store)


def test_a_fault_in_the_middle_of_a_correction_writes_nothing(ledger, store, monkeypatch):
    ledger.on_promotional_credit_purchase(purchase("10"))
    charge = consumer()
    ledger.consume(charge, run_id="r", amount=D(4), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    before = row_counts(store)

    def broken(self, grant, amount):  # type: ignore[no-untyped-def]
        raise Boom("lost the lot")

    monkeypatch.setattr(Returns, "to_lot", broken)
    with pytest.raises(Boom):
        ledger.correct(charge, run_id="r", amount=D(4), booked_at=T0)
    assert row_counts(store) == before
    monkeypatch.undo()
    ledger.correct(charge, run_id="r", amount=D(4), booked_at=T0)  # the retry books exactly one set
    assert ledger.balance(NS, CUSTOMER, "USD") == 10
    assert_consistent(store)


def test_an_unbalanced_group_is_refused_and_rolled_back(store):
    before = row_counts(store)
    with pytest.raises(LedgerInvariantError, match="does not sum to zero: USD 1"):
        with store.unit_of_work() as uow:
            ctx = LedgerContext(uow.session, NS, CUSTOMER, uow.now, {}, _NullLog())
            group = GroupWriter(ctx, "consume", T0)
            group.post("consume", "accrued", "USD", D(1))
            group.close()
    assert row_counts(store) == before


def test_entries_are_never_updated_or_deleted(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("10"))
    with pytest.raises(AppendOnlyViolation, match="append-only: refused to update ledger_entries"):
        with store.unit_of_work() as uow:
            entry = uow.session.scalars(select(LedgerEntryRow)).first()
            entry.amount = D(11)
            uow.session.flush()
    with pytest.raises(AppendOnlyViolation, match="refused to delete"):
        with store.unit_of_work() as uow:
            uow.session.delete(uow.session.scalars(select(LedgerEntryRow)).first())
            uow.session.flush()
    assert_consistent(store)


def test_check_invariants_reports_an_unbalanced_group(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("10"))
    with store.engine.begin() as connection:  # bypasses the ORM guard on purpose
        connection.execute(update(LedgerEntryRow).where(LedgerEntryRow.account == "wash").values(amount=D(-9)))
    problems = check_invariants(store, NS, CUSTOMER)
    assert any("sums to 1 USD" in p for p in problems)


def test_check_invariants_reports_a_grant_whose_fields_disagree_with_its_entries(ledger, store):
    charge = purchase("10", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    ledger.on_credit_grant_voided(charge, T0)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_grants SET revoked_remainder = '4'"))
    problems = check_invariants(store, NS, CUSTOMER)
    assert any("revoked_remainder 4 ≠ revoked by its entries 10" in p for p in problems)
    assert any("amount 10 ≠" in p for p in problems)


def test_check_invariants_reports_a_balance_that_disagrees_with_the_consumption(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("10"))
    ledger.consume(consumer(), run_id="r", amount=D(4), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE ledger_allocations SET amount = '3'"))
    problems = check_invariants(store, NS, CUSTOMER)
    assert any("grants − consumption − reversals" in p for p in problems)


class _NullLog:
    def info(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        pass

    debug = info


def test_the_store_ledger_implements_every_operation_of_the_port(ledger):
    from billing.ledger import LedgerPort

    operations = {name for name in vars(LedgerPort) if not name.startswith("_")}
    assert operations == {
        "consume", "correct", "on_invoice_usage_accrued", "on_run_payment_authorized", "on_run_payment_settled",
        "on_promotional_credit_purchase", "on_credit_purchase_initiated", "on_payment_authorized",
        "on_payment_settled", "on_payment_authorization_reversed", "on_credit_purchase_voided",
        "on_credit_grant_voided",
    }
    assert isinstance(ledger, LedgerPort)


def test_a_run_less_correction_reverses_only_run_less_allocations(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("10"))
    charge = consumer()
    ledger.consume(charge, run_id=None, amount=D(2), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    ledger.consume(charge, run_id="r", amount=D(3), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    with pytest.raises(LedgerValidationError, match="only 2"):
        ledger.correct(charge, run_id=None, amount=D(3), booked_at=T0)
    ledger.correct(charge, run_id=None, amount=D(2), booked_at=T0)
    assert [a.uncorrected for a in ledger.allocations(NS, charge.id)] == [0, 3]
    assert_consistent(store)


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"] if os.environ.get(POSTGRES_URL_ENV) else [], indirect=True)
def test_concurrent_consumption_of_one_customer_never_spends_a_lot_twice(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("10"))
    results: list = []

    def other() -> None:
        results.append(ledger.consume(consumer(), run_id="b", amount=D(8), feature_key=None, booked_at=T0,
                                      source_as_of=T0, mode="credit_then_invoice"))

    with store.unit_of_work():
        first = ledger.consume(consumer(), run_id="a", amount=D(8), feature_key=None, booked_at=T0,
                               source_as_of=T0, mode="credit_then_invoice")
        waiter = threading.Thread(target=other)
        waiter.start()
        waiter.join(timeout=0.5)
        assert waiter.is_alive() and not results, "the second consumption must wait for the customer lock"
    waiter.join(timeout=10)
    assert first.total == 8 and [r.total for r in results] == [2]
    assert ledger.balance(NS, CUSTOMER, "USD") == 0
    assert_consistent(store)
