"""The 16-value scenario projection (scenarios/credits.md §0.5, charges.md §2.5) on the ledger flows of
the catalogue's small examples, the §5.6.15 walk-through, the §5.7 void table and DV-07."""

from __future__ import annotations

from decimal import Decimal

from billing.ledger import BalanceProjection
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent


def vector(ledger, currency: str = "USD", **kwargs) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return ledger.projection(NS, CUSTOMER, currency, **kwargs).nonzero()


def B_P(amount: str) -> dict[str, Decimal]:
    a = D(amount)
    return {"FBO_all": a, "FBO_promo": a, "Wash_all": -a, "Wash_promo": -a}


def test_the_vector_has_the_sixteen_scenario_names_and_is_zero_on_an_empty_ledger(ledger):
    projection = ledger.projection(NS, CUSTOMER, "USD")
    assert list(projection.vector()) == [
        "FBO_all", "FBO_promo", "FBO_invoice", "OpenRecv_all", "OpenRecv_promo", "OpenRecv_invoice",
        "AuthRecv_all", "AuthRecv_promo", "AuthRecv_invoice", "Accrued_all", "Accrued_promo", "Accrued_invoice",
        "Wash_all", "Wash_promo", "Wash_invoice", "Earnings_all",
    ]
    assert projection == BalanceProjection() and projection.nonzero() == {}  # B0


def test_c011_promotional_credits_fully_allocated_to_a_progressive_run(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("100"))
    assert vector(ledger) == B_P("100")
    run = consumer()
    result = ledger.consume(run, run_id="partial", amount=D(500), feature_key="api-requests-total",
                            booked_at=at(15, 2), source_as_of=at(15, 2), mode="credit_then_invoice")
    assert result.total == 100
    assert vector(ledger, as_of=at(15, 2)) == {"Accrued_all": 100, "Accrued_promo": 100, "Wash_all": -100, "Wash_promo": -100}
    assert_consistent(store)


def test_c017_draft_line_reprices_and_the_correction_returns_credit(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("2"))
    fee = consumer()
    ledger.consume(fee, run_id="run", amount=D(6), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert vector(ledger) == {"Accrued_all": 2, "Accrued_promo": 2, "Wash_all": -2, "Wash_promo": -2}
    ledger.correct(fee, run_id="run", amount=D("1.81"), booked_at=T0)  # credits 2 → 0.19
    assert vector(ledger) == {
        "FBO_all": D("1.81"), "FBO_promo": D("1.81"), "Accrued_all": D("0.19"), "Accrued_promo": D("0.19"),
        "Wash_all": -2, "Wash_promo": -2,
    }
    assert_consistent(store)


def test_c032_second_charge_takes_the_remaining_promotional_credit(ledger, store):
    ledger.on_promotional_credit_purchase(purchase("7"))
    ledger.consume(consumer(), run_id="a", amount=D(5), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert vector(ledger) == {"FBO_all": 2, "FBO_promo": 2, "Accrued_all": 5, "Accrued_promo": 5, "Wash_all": -7, "Wash_promo": -7}
    result = ledger.consume(consumer(), run_id="b", amount=D(3), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert result.total == 2
    assert vector(ledger) == {"Accrued_all": 7, "Accrued_promo": 7, "Wash_all": -7, "Wash_promo": -7}


def test_c041_paid_usage_invoice_books_the_fiat_remainder_as_invoiced_accrual(ledger, store, clock):
    ledger.on_promotional_credit_purchase(purchase("2"))
    usage = consumer()
    ledger.consume(usage, run_id="run", amount=D(120), feature_key=None, booked_at=at(1, 2), source_as_of=at(1, 2), mode="credit_then_invoice")
    clock.set(at(1, 2))
    assert vector(ledger) == {"Accrued_all": 2, "Accrued_promo": 2, "Wash_all": -2, "Wash_promo": -2}
    ledger.on_invoice_usage_accrued(usage, "run", D(118), at(1, 2))
    ledger.on_run_payment_authorized(usage, "run", at(1, 2), D(118))
    ledger.on_run_payment_settled(usage, "run", at(1, 2), D(118))
    assert vector(ledger) == {
        "Accrued_all": 120, "Accrued_promo": 2, "Accrued_invoice": 118,
        "Wash_all": -120, "Wash_promo": -2, "Wash_invoice": -118,
    }
    assert_consistent(store)


def test_c046_invoice_without_credit(ledger, store):
    fee = consumer()
    ledger.on_invoice_usage_accrued(fee, "run", D("24.68"), T0)
    ledger.on_run_payment_authorized(fee, "run", T0, D("24.68"))
    assert vector(ledger) == {"AuthRecv_all": D("-24.68"), "AuthRecv_invoice": D("-24.68"), "Accrued_all": D("24.68"), "Accrued_invoice": D("24.68")}
    ledger.on_run_payment_settled(fee, "run", T0, D("24.68"))
    assert vector(ledger) == {
        "Accrued_all": D("24.68"), "Accrued_invoice": D("24.68"), "Wash_all": D("-24.68"), "Wash_invoice": D("-24.68"),
    }


def test_walkthrough_5_6_15_fiat_invoice_purchase(ledger, store):
    charge = purchase("100", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    assert vector(ledger) == {"FBO_all": 100, "FBO_invoice": 100, "OpenRecv_all": -100, "OpenRecv_invoice": -100}
    ledger.on_payment_authorized(charge, T0, D(100))
    assert vector(ledger) == {"FBO_all": 100, "FBO_invoice": 100, "AuthRecv_all": -100, "AuthRecv_invoice": -100}
    ledger.on_payment_settled(charge, T0, D(100))
    assert vector(ledger) == {"FBO_all": 100, "FBO_invoice": 100, "Wash_all": -100, "Wash_invoice": -100}
    assert_consistent(store)


def test_walkthrough_5_6_15_custom_currency_with_a_dynamic_basis(ledger, store):
    basis = {"type": "custom_currency", "mode": "dynamic", "fiat_currency": "USD"}
    charge = purchase("100", currency="TOKENS", settlement="invoice", cost_basis=basis,
                      state={"resolved_cost_basis": {"rate": "0.25", "resolved_at": "2026-01-01T00:00:00Z"}})
    ledger.on_credit_purchase_initiated(charge)
    assert vector(ledger, "TOKENS") == {"FBO_all": 100, "OpenRecv_all": -100}
    ledger.on_payment_authorized(charge, T0, D(25))
    assert vector(ledger, "TOKENS") == {"FBO_all": 100}
    assert vector(ledger, "USD") == {"AuthRecv_all": -25}
    ledger.on_payment_settled(charge, T0, D(25))
    assert vector(ledger, "TOKENS") == {"FBO_all": 100}
    assert vector(ledger, "USD") == {"Wash_all": -25}
    assert_consistent(store)


def test_manual_void_table_of_5_7(ledger, store):
    charge = purchase("100", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    ledger.on_credit_grant_voided(charge, T0)
    assert vector(ledger) == {}
    ledger.on_payment_authorized(charge, T0, D(100))
    assert vector(ledger) == {"OpenRecv_all": 100, "OpenRecv_invoice": 100, "AuthRecv_all": -100, "AuthRecv_invoice": -100}
    ledger.on_payment_settled(charge, T0, D(100))
    assert vector(ledger) == {"OpenRecv_all": 100, "OpenRecv_invoice": 100, "Wash_all": -100, "Wash_invoice": -100}
    assert_consistent(store)


def test_dv07_void_after_partial_use(ledger, store):
    charge = purchase("100", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    ledger.consume(consumer(), run_id="r", amount=D(30), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    assert vector(ledger) == {"FBO_all": 70, "FBO_invoice": 70, "OpenRecv_all": -100, "OpenRecv_invoice": -100, "Accrued_all": 30, "Accrued_invoice": 30}
    ledger.on_payment_authorized(charge, T0, D(100))
    ledger.on_credit_purchase_voided(charge, T0, "voided")
    # the purchase receivable is closed; the negative-balance receivable (no cost basis) carries −30
    assert vector(ledger) == {"OpenRecv_all": -30, "Accrued_all": 30, "Accrued_invoice": 30}
    assert ledger.balance(NS, CUSTOMER, "USD") == -30
    assert_consistent(store)


def test_fbo_counts_only_default_priority_lots_and_respects_as_of(ledger, clock):
    ledger.on_promotional_credit_purchase(purchase("10", priority=2))
    ledger.on_promotional_credit_purchase(purchase("5", effective_at=at(10)))
    assert vector(ledger) == {"Wash_all": -10, "Wash_promo": -10}
    assert vector(ledger, as_of=at(10)) == {"FBO_all": 5, "FBO_promo": 5, "Wash_all": -15, "Wash_promo": -15}
    assert ledger.balance(NS, CUSTOMER, "USD", as_of=at(10)) == 15
