"""Corrections (§2.7): LIFO over a run's allocations, never more than a slice, and every destination:
a live lot, an expired lot (breakage), an outstanding or a covered negative-balance record, a lot voided
by its invoice (and its record covered since), and a manually voided lot (forfeited)."""

from __future__ import annotations

import pytest

from billing.ledger import LedgerNotFoundError, LedgerValidationError
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent, assert_legs, leg, row_counts


def _promo(ledger, amount="10", **kwargs):  # type: ignore[no-untyped-def]
    charge = purchase(amount, **kwargs)
    ledger.on_promotional_credit_purchase(charge)
    return ledger.grant_for_charge(NS, charge.id)


def _consume(ledger, charge, amount, mode="credit_only", run_id="run-1", at_=T0):  # type: ignore[no-untyped-def]
    return ledger.consume(charge, run_id=run_id, amount=D(amount), feature_key=None, booked_at=at_, source_as_of=at_, mode=mode)


def test_lifo_across_the_runs_allocations_taking_each_uncorrected_remainder(ledger, store):
    a = _promo(ledger, "10")
    b = _promo(ledger, "10")
    charge = consumer()
    first = _consume(ledger, charge, "15")  # A 10, B 5
    second = _consume(ledger, charge, "3")  # B 3
    ledger.consume(charge, run_id="other-run", amount=D(1), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    correction = ledger.correct(charge, run_id="run-1", amount=D(10), booked_at=T0)
    expected = [(second.slices[0].id, D(3)), (first.slices[1].id, D(5)), (first.slices[0].id, D(2))]
    assert [(s.allocation_id, s.amount) for s in correction.slices] == expected
    by_id = {a.id: a for a in ledger.allocations(NS, charge.id, "run-1")}
    assert [by_id[i].uncorrected for i, _ in expected] == [0, 0, 8]
    assert ledger.allocations(NS, charge.id, "other-run")[0].uncorrected == 1
    group = ledger.group(NS, correction.transaction_group_id)
    assert_legs(
        group,
        leg("correct", "accrued", "-3", basis="0"),
        leg("correct", "fbo", "3", lot=b.id, basis="0"),
        leg("correct", "accrued", "-5", basis="0"),
        leg("correct", "fbo", "5", lot=b.id, basis="0"),
        leg("correct", "accrued", "-2", basis="0"),
        leg("correct", "fbo", "2", lot=a.id, basis="0"),
    )
    assert ledger.balance(NS, CUSTOMER, "USD") == D(11)
    assert_consistent(store)


def test_a_correction_never_exceeds_what_is_uncorrected(ledger, store):
    _promo(ledger, "10")
    charge = consumer()
    _consume(ledger, charge, "4")
    ledger.correct(charge, run_id="run-1", amount=D(3), booked_at=T0)
    before = row_counts(store)
    with pytest.raises(LedgerValidationError, match="only 1"):
        ledger.correct(charge, run_id="run-1", amount=D(2), booked_at=T0)
    with pytest.raises(LedgerNotFoundError):
        ledger.correct(charge, run_id="no-such-run", amount=D(1), booked_at=T0)
    with pytest.raises(LedgerNotFoundError, match="no allocation"):
        ledger.correct(charge, run_id="run-1", amount=D(1), booked_at=T0, allocation_ids=["missing"])
    assert row_counts(store) == before


def test_allocation_ids_restrict_which_slices_are_reversed(ledger, store):
    _promo(ledger, "10")
    charge = consumer()
    first = _consume(ledger, charge, "2")
    _consume(ledger, charge, "3")
    correction = ledger.correct(charge, run_id="run-1", amount=D(2), booked_at=T0, allocation_ids=[first.slices[0].id])
    assert [(s.allocation_id, s.amount) for s in correction.slices] == [(first.slices[0].id, D(2))]
    assert_consistent(store)


def test_an_expired_lot_gets_the_value_straight_into_breakage(ledger, store, clock):
    lot = _promo(ledger, "10", expires_at=at(10))
    charge = consumer()
    _consume(ledger, charge, "4")
    clock.set(at(11))
    correction = ledger.correct(charge, run_id="run-1", amount=D(4), booked_at=at(11))
    assert_legs(
        ledger.group(NS, correction.transaction_group_id),
        leg("correct", "accrued", "-4", basis="0"),
        leg("correct", "fbo", "4", lot=lot.id, basis="0"),
        leg("breakage", "fbo", "-4", lot=lot.id, basis="0"),
        leg("breakage", "breakage", "4", lot=lot.id, basis="0"),
    )
    assert ledger.balance(NS, CUSTOMER, "USD") == 0
    assert_consistent(store)


def test_an_outstanding_negative_balance_is_reduced(ledger, store):
    charge = consumer()
    result = _consume(ledger, charge, "8")
    [record] = ledger.negative_balances(NS, CUSTOMER)
    correction = ledger.correct(charge, run_id="run-1", amount=D(5), booked_at=T0)
    assert [s.allocation_id for s in correction.slices] == [result.slices[0].id]
    assert_legs(
        ledger.group(NS, correction.transaction_group_id),
        leg("correct", "accrued", "-5"),
        leg("correct", "receivable", "5", status="open", source=f"negative_balance:{record.id}"),
    )
    assert ledger.negative_balances(NS, CUSTOMER)[0].outstanding == 3
    assert ledger.balance(NS, CUSTOMER, "USD") == -3
    assert_consistent(store)


def test_a_covered_negative_balance_returns_the_value_to_the_covering_lot(ledger, store):
    charge = consumer()
    _consume(ledger, charge, "8")
    [record] = ledger.negative_balances(NS, CUSTOMER)
    covering = _promo(ledger, "5")  # covers 5 of the 8; 3 stay outstanding
    assert covering.covered_at_issue == 5
    correction = ledger.correct(charge, run_id="run-1", amount=D(6), booked_at=T0)
    assert_legs(
        ledger.group(NS, correction.transaction_group_id),
        leg("correct", "accrued", "-6"),
        leg("correct", "receivable", "3", status="open", source=f"negative_balance:{record.id}"),
        leg("correct", "fbo", "3", lot=covering.id, basis="0"),
    )
    assert ledger.balance(NS, CUSTOMER, "USD") == 3
    assert ledger.negative_balances(NS, CUSTOMER)[0].outstanding == 0
    assert_consistent(store)


def test_a_lot_voided_by_its_invoice_reduces_the_record_the_void_opened(ledger, store, clock):
    bought = purchase("10", settlement="invoice")
    ledger.on_credit_purchase_initiated(bought)
    charge = consumer()
    _consume(ledger, charge, "6")
    ledger.on_credit_purchase_voided(bought, T0, "voided")
    grant = ledger.grant_for_charge(NS, bought.id)
    [record] = ledger.negative_balances(NS, CUSTOMER)
    assert (record.amount, ledger.balance(NS, CUSTOMER, "USD")) == (6, -6)
    correction = ledger.correct(charge, run_id="run-1", amount=D(2), booked_at=T0)
    assert_legs(
        ledger.group(NS, correction.transaction_group_id),
        leg("correct", "accrued", "-2", basis="1"),
        leg("correct", "receivable", "2", status="open", source=f"negative_balance:{record.id}"),
    )
    assert grant.negative_balance_id == record.id
    assert ledger.balance(NS, CUSTOMER, "USD") == -4
    # … and once a grant has covered that record, the value goes to the covering lot.
    covering = _promo(ledger, "10")
    assert covering.covered_at_issue == 4
    again = ledger.correct(charge, run_id="run-1", amount=D(3), booked_at=T0)
    assert_legs(
        ledger.group(NS, again.transaction_group_id),
        leg("correct", "accrued", "-3", basis="1"),
        leg("correct", "fbo", "3", lot=covering.id, basis="0"),
    )
    assert ledger.balance(NS, CUSTOMER, "USD") == 9
    assert_consistent(store)


def test_a_manually_voided_lot_forfeits_the_value_at_once(ledger, store, clock):
    bought = purchase("10", settlement="invoice")
    ledger.on_credit_purchase_initiated(bought)
    charge = consumer()
    _consume(ledger, charge, "6")
    ledger.on_credit_grant_voided(bought, T0)
    grant = ledger.grant_for_charge(NS, bought.id)
    assert grant.revoked_remainder == 4
    correction = ledger.correct(charge, run_id="run-1", amount=D(6), booked_at=T0)
    assert_legs(
        ledger.group(NS, correction.transaction_group_id),
        leg("correct", "accrued", "-6", basis="1"),
        leg("correct", "fbo", "6", lot=grant.id, basis="1"),
        leg("grant_void", "fbo", "-6", lot=grant.id, basis="1"),
        leg("grant_void", "receivable", "6", basis="1", status="open", source=f"purchase:{bought.id}"),
    )
    grant = ledger.grant_for_charge(NS, bought.id)
    assert grant.revoked_remainder == 10
    assert ledger.balance(NS, CUSTOMER, "USD") == 0 and ledger.available(NS, CUSTOMER, "USD") == 0
    assert_consistent(store)


def test_a_chain_of_covers_through_an_invoice_voided_covering_grant(ledger, store):
    """Record r1 covered by purchase P (later voided by its invoice), whose record r2 is covered by Q:
    correcting the r1 slice walks r1 → P → r2 → Q."""
    charge = consumer()
    _consume(ledger, charge, "5")
    p = purchase("5", settlement="invoice")
    ledger.on_credit_purchase_initiated(p)  # covers all of r1
    ledger.on_credit_purchase_voided(p, T0, "voided")  # C = covered 5 → r2
    q = _promo(ledger, "20")  # covers all of r2
    assert q.covered_at_issue == 5 and ledger.balance(NS, CUSTOMER, "USD") == 15
    correction = ledger.correct(charge, run_id="run-1", amount=D(5), booked_at=T0)
    assert_legs(
        ledger.group(NS, correction.transaction_group_id),
        leg("correct", "accrued", "-5"),
        leg("correct", "fbo", "5", lot=q.id, basis="0"),
    )
    assert ledger.balance(NS, CUSTOMER, "USD") == 20
    assert_consistent(store)
