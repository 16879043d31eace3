"""Credit-purchase and run operations the ledger refuses, each leaving the ledger exactly as it was,
and the payment sequences of DV-05/DV-06 on the real ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from billing.errors import StoreIntegrityError
from billing.ledger import (
    LedgerConflictError,
    LedgerNotFoundError,
    LedgerPreconditionError,
    LedgerValidationError,
)
from billing.store.ledger_tables import LedgerGrantRow
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent, row_counts


def _refused(store, error, match, call):  # type: ignore[no-untyped-def]
    before = row_counts(store)
    with pytest.raises(error, match=match):
        call()
    assert row_counts(store) == before


def test_a_purchase_is_granted_at_most_once(ledger, store):
    charge = purchase("10", settlement="external")
    ledger.on_credit_purchase_initiated(charge)
    _refused(store, LedgerConflictError, "already granted", lambda: ledger.on_credit_purchase_initiated(charge))
    promo = purchase("10")
    ledger.on_promotional_credit_purchase(promo)
    _refused(store, LedgerConflictError, "already granted", lambda: ledger.on_promotional_credit_purchase(promo))
    assert len(ledger.grants(NS, CUSTOMER)) == 2


def test_the_store_refuses_a_second_grant_row_for_one_purchase(ledger, store):
    charge = purchase("10")
    ledger.on_promotional_credit_purchase(charge)
    grant = ledger.grant_for_charge(NS, charge.id)
    row = {c.name: getattr(grant, c.name) for c in LedgerGrantRow.__table__.columns if c.name not in ("sequence", "id")}
    row["feature_filters"] = list(grant.feature_filters)
    with pytest.raises(StoreIntegrityError):
        with store.unit_of_work() as uow:
            uow.session.execute(insert(LedgerGrantRow).values(id="second", **row))
    assert len(ledger.grants(NS, CUSTOMER)) == 1


@pytest.mark.parametrize(
    ("make", "operation", "error", "match"),
    [
        (lambda: purchase("10"), "initiated", LedgerValidationError, "is promotional"),
        (lambda: purchase("10", settlement="invoice"), "promotional", LedgerValidationError, "not promotional"),
        (lambda: purchase("100.123"), "promotional", LedgerValidationError, "more digits than USD"),
        (
            lambda: purchase("10", currency="TOKENS", settlement="invoice",
                             cost_basis={"type": "custom_currency", "mode": "dynamic", "fiat_currency": "USD"}),
            "initiated", LedgerPreconditionError, "cost basis is unresolved",
        ),
        (
            lambda: purchase("10", settlement="invoice", cost_basis={"type": "fiat", "rate": "0"}),
            "initiated", LedgerValidationError, "must be positive",
        ),
        (lambda: purchase("10", expires_at=T0), "promotional", LedgerValidationError, "expires at"),
    ],
)
def test_invalid_purchases_are_refused_before_any_write(ledger, store, make, operation, error, match):
    charge = make()
    call = ledger.on_credit_purchase_initiated if operation == "initiated" else ledger.on_promotional_credit_purchase
    _refused(store, error, match, lambda: call(charge))
    assert ledger.grants(NS, CUSTOMER) == []


def test_payment_steps_in_the_wrong_order_are_refused(ledger, store):
    charge = purchase("100", settlement="invoice")
    _refused(store, LedgerNotFoundError, "has no grant", lambda: ledger.on_payment_authorized(charge, T0, D(100)))
    ledger.on_credit_purchase_initiated(charge)
    _refused(store, LedgerPreconditionError, "only 0 is authorized", lambda: ledger.on_payment_settled(charge, T0, D(100)))
    _refused(store, LedgerPreconditionError, "only 0 is authorized", lambda: ledger.on_payment_authorization_reversed(charge, T0, D(100)))
    _refused(store, LedgerValidationError, "must be positive", lambda: ledger.on_payment_authorized(charge, T0, D(0)))
    _refused(store, LedgerValidationError, "naive", lambda: ledger.on_payment_authorized(charge, T0.replace(tzinfo=None), D(100)))
    ledger.on_payment_authorized(charge, T0, D(100))
    _refused(store, LedgerConflictError, "already has an authorized payment", lambda: ledger.on_payment_authorized(charge, T0, D(100)))
    ledger.on_payment_settled(charge, T0, D(100))
    _refused(store, LedgerConflictError, "already settled", lambda: ledger.on_payment_settled(charge, T0, D(100)))
    _refused(store, LedgerConflictError, "already settled", lambda: ledger.on_payment_authorized(charge, T0, D(100)))
    _refused(store, LedgerConflictError, "already settled", lambda: ledger.on_credit_purchase_voided(charge, T0, "voided"))
    assert_consistent(store)


def test_a_voided_purchase_refuses_payments_and_a_second_void(ledger, store):
    charge = purchase("100", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    _refused(store, LedgerValidationError, "void reason", lambda: ledger.on_credit_purchase_voided(charge, T0, "refunded"))
    ledger.on_credit_purchase_voided(charge, T0, "voided")
    _refused(store, LedgerPreconditionError, "is voided", lambda: ledger.on_payment_authorized(charge, T0, D(100)))
    _refused(store, LedgerConflictError, "already voided", lambda: ledger.on_credit_purchase_voided(charge, T0, "voided"))
    _refused(store, LedgerConflictError, "already voided", lambda: ledger.on_credit_grant_voided(charge, T0))
    assert ledger.balance(NS, CUSTOMER, "USD") == 0
    assert_consistent(store)


def test_promotional_purchases_have_no_payment(ledger, store):
    charge = purchase("10")
    ledger.on_promotional_credit_purchase(charge)
    _refused(store, LedgerValidationError, "promotional", lambda: ledger.on_payment_authorized(charge, T0, D(10)))


def test_run_payments_follow_the_accrual(ledger, store):
    run = consumer()
    _refused(store, LedgerPreconditionError, "only 0 is accrued", lambda: ledger.on_run_payment_authorized(run, "r", T0, D(5)))
    _refused(store, LedgerValidationError, "must be positive", lambda: ledger.on_invoice_usage_accrued(run, "r", D(0), T0))
    _refused(store, LedgerValidationError, "run_id", lambda: ledger.on_invoice_usage_accrued(run, "", D(5), T0))
    ledger.on_invoice_usage_accrued(run, "r", D(5), T0)
    _refused(store, LedgerConflictError, "already accrued", lambda: ledger.on_invoice_usage_accrued(run, "r", D(5), T0))
    _refused(store, LedgerPreconditionError, "only 0 is authorized", lambda: ledger.on_run_payment_settled(run, "r", T0, D(5)))
    ledger.on_run_payment_authorized(run, "r", T0, D(5))
    _refused(store, LedgerPreconditionError, "only 0 is accrued", lambda: ledger.on_run_payment_authorized(run, "r", T0, D(5)))
    ledger.on_run_payment_settled(run, "r", T0, D(5))
    _refused(store, LedgerPreconditionError, "only 0 is authorized", lambda: ledger.on_run_payment_settled(run, "r", T0, D(5)))


def test_dv05_failed_then_reauthorized_converts_once(ledger, store, clock):
    charge = purchase("100", settlement="invoice", cost_basis={"type": "fiat", "rate": "0.5"})
    ledger.on_credit_purchase_initiated(charge)
    ledger.on_payment_authorized(charge, T0, D(50))
    clock.set(at(2))
    ledger.on_payment_authorization_reversed(charge, at(2), D(50))
    after_failed = ledger.projection(NS, CUSTOMER, "USD")
    assert (after_failed.authorized_receivable_all, after_failed.open_receivable_all) == (0, -50)
    ledger.on_payment_authorized(charge, at(2), D(50))
    assert ledger.projection(NS, CUSTOMER, "USD").authorized_receivable_all == -50
    ledger.on_payment_settled(charge, at(2), D(50))  # DV-06 tail: one settlement
    conversions = [e for g in ledger.groups(NS, CUSTOMER) for e in g.entries if e.posting == "payment_convert"]
    assert len(conversions) == 4  # one conversion, four legs
    final = ledger.projection(NS, CUSTOMER, "USD")
    assert (final.open_receivable_all, final.authorized_receivable_all, final.wash_all, final.fbo_all) == (0, 0, -50, 100)
    assert_consistent(store)
