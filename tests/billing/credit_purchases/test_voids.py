"""Voids: the invoice void after partial use (charges.md §5.6.11, §5.6.15, DV-07) and the manual grant void
(§5.7, CP-33, §8 row 40), with the store ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import update

from billing.charges.errors import ChargeConflictError, ChargeNotFoundError, ChargeValidationError
from billing.ledger import LedgerChargeRef
from billing.store.tables import ChargeRow
from tests.billing.credit_purchases.conftest import (
    CUSTOMER,
    JAN_15,
    NS,
    assert_ledger_sound,
    intent,
    snapshot,
)

TOKENS_MANUAL = {"type": "custom_currency", "mode": "manual", "rate": "0.5", "fiat_currency": "USD"}


def vector(ledger):  # type: ignore[no-untyped-def]
    return ledger.projection(NS, CUSTOMER, "USD").vector()


def nonzero(values: dict[str, Decimal]) -> dict[str, Decimal]:
    return {name: value for name, value in values.items() if value != 0}


@pytest.fixture
def now_purchase(real, billing, clock):  # type: ignore[no-untyped-def]
    """USD 100 at rate 1, invoice settlement, created (and invoiced) now; its invoice waits for approval."""
    clock.set(JAN_15)
    purchase = real.create(NS, intent("100", rate="1", effective_at=JAN_15))
    return purchase, purchase.link.invoice_id  # type: ignore[union-attr]


def test_DV_07_void_after_partial_use(now_purchase, real, billing, ledger, store):
    purchase, invoice_id = now_purchase
    flat_fee = LedgerChargeRef(id="flat-fee-1", namespace=NS, customer_id=CUSTOMER, currency="USD")
    consumed = ledger.consume(flat_fee, run_id="run-1", amount=Decimal(30), feature_key=None, booked_at=JAN_15,
                              source_as_of=JAN_15, mode="credit_then_invoice")
    assert sum(s.amount for s in consumed.slices) == Decimal(30)
    assert (vector(ledger)["FBO_all"], vector(ledger)["Accrued_invoice"]) == (Decimal(70), Decimal(30))
    billing.approve_invoice(NS, invoice_id)
    billing.payment_event(NS, invoice_id, "authorized")
    assert vector(ledger)["AuthRecv_all"] == Decimal(-100)
    billing.void_invoice(NS, invoice_id)
    voided = real.get(NS, purchase.id)
    assert voided.status == "final.voided" and voided.payment.status == "voided"  # type: ignore[union-attr]
    assert nonzero(vector(ledger)) == {"OpenRecv_all": Decimal(-30), "Accrued_all": Decimal(30),
                                       "Accrued_invoice": Decimal(30)}
    assert ledger.balance(NS, CUSTOMER, "USD") == Decimal(-30)
    [record] = ledger.negative_balances(NS, CUSTOMER)
    assert record.amount == Decimal(30)
    grant = ledger.grant_for_charge(NS, purchase.id)
    assert grant is not None and grant.revoked_remainder == Decimal(70) and grant.consumed_to_negative == Decimal(30)
    assert_ledger_sound(store)


def test_CP_33_manual_void_across_the_payment_flow(now_purchase, real, billing, ledger, store, statuses):
    purchase, invoice_id = now_purchase
    assert nonzero(vector(ledger)) == {"FBO_all": Decimal(100), "OpenRecv_all": Decimal(-100),
                                       "FBO_invoice": Decimal(100), "OpenRecv_invoice": Decimal(-100)}
    billing.approve_invoice(NS, invoice_id)
    voided = real.void_credit_grant(NS, purchase.id)
    assert voided.status == "active.payment.pending" and voided.grant_voided_at == JAN_15  # status unchanged
    assert nonzero(vector(ledger)) == {}
    billing.payment_event(NS, invoice_id, "authorized")
    values = vector(ledger)
    assert (values["FBO_all"], values["OpenRecv_all"], values["AuthRecv_all"]) == (0, Decimal(100), Decimal(-100))
    billing.payment_event(NS, invoice_id, "paid")
    values = vector(ledger)
    assert (values["FBO_all"], values["OpenRecv_all"], values["AuthRecv_all"], values["Wash_all"]) == (
        0, Decimal(100), 0, Decimal(-100))
    assert real.get(NS, purchase.id).status == "final"
    assert_ledger_sound(store)


def test_a_voided_grant_is_returned_as_it_is(now_purchase, real, ledger, store):
    purchase, _ = now_purchase
    first = real.void_credit_grant(NS, purchase.id)
    before = snapshot(store)
    again = real.void_credit_grant(NS, purchase.id)
    assert again.grant_voided_at == first.grant_voided_at and snapshot(store) == before
    assert sum(1 for g in ledger.groups(NS, CUSTOMER) if g.kind == "grant_void") == 1


def test_a_pending_grant_cannot_be_voided(real, billing, store):
    created = real.create(NS, intent())  # deferred: still created, no grant
    before = snapshot(store)
    with pytest.raises(ChargeConflictError, match="is pending and cannot be voided"):
        real.void_credit_grant(NS, created.id)
    assert snapshot(store) == before


def test_an_expired_grant_cannot_be_voided(real, billing, store, clock):
    clock.set(JAN_15)
    created = real.create(NS, intent("10", settlement="promotional", effective_at=JAN_15,
                                     expires_at=JAN_15 + dt.timedelta(days=1)))
    clock.set(JAN_15 + dt.timedelta(days=2))
    before = snapshot(store)
    with pytest.raises(ChargeConflictError, match="expired"):
        real.void_credit_grant(NS, created.id)
    assert snapshot(store) == before


def test_a_custom_currency_grant_cannot_be_voided(real, billing, store, clock):
    clock.set(JAN_15)
    created = real.create(NS, intent("10", currency="TOKENS", settlement="promotional", effective_at=JAN_15))
    with pytest.raises(ChargeValidationError) as caught:
        real.void_credit_grant(NS, created.id)
    assert caught.value.code == "unsupported"


def test_voiding_an_unknown_or_deleted_purchase_is_not_found(real, billing, store, clock):
    with pytest.raises(ChargeNotFoundError):
        real.void_credit_grant(NS, "no-such-charge")
    clock.set(JAN_15)
    created = real.create(NS, intent("10", settlement="promotional", effective_at=JAN_15))
    with store.unit_of_work() as uow:
        uow.session.execute(update(ChargeRow).where(ChargeRow.id == created.id).values(deleted_at=JAN_15))
    with pytest.raises(ChargeNotFoundError, match="deleted"):
        real.void_credit_grant(NS, created.id)


def test_manual_void_of_a_promotional_grant_forfeits_its_remainder(real, billing, ledger, store, clock):
    clock.set(JAN_15)
    created = real.create(NS, intent("40", settlement="promotional", effective_at=JAN_15))
    assert ledger.balance(NS, CUSTOMER, "USD") == Decimal(40)
    real.void_credit_grant(NS, created.id)
    assert ledger.balance(NS, CUSTOMER, "USD") == 0 and real.get(NS, created.id).status == "final"
    assert_ledger_sound(store)


def test_custom_currency_invoice_purchase_books_in_both_currencies(real, billing, ledger, store, clock):
    clock.set(JAN_15)
    created = real.create(NS, intent("100", currency="TOKENS", cost_basis=TOKENS_MANUAL, effective_at=JAN_15))
    invoice_id = created.link.invoice_id  # type: ignore[union-attr]
    billing.approve_invoice(NS, invoice_id)
    billing.payment_event(NS, invoice_id, "paid")
    tokens = ledger.projection(NS, CUSTOMER, "TOKENS").vector()
    usd = vector(ledger)
    assert (tokens["FBO_all"], tokens["OpenRecv_all"]) == (Decimal(100), 0)
    assert (usd["AuthRecv_all"], usd["Wash_all"]) == (0, Decimal(-50))
    assert real.get(NS, created.id).payment.fiat_amount == Decimal(50)  # type: ignore[union-attr]
    assert_ledger_sound(store)
