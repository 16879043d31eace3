"""Flat-fee charges on the store-backed credit ledger through ``LedgerPortAdapter``: credits consumed
at invoicing, corrected on a draft shrink, the overage accrued and paid; the ledger's invariants hold
after every step (charges.md §2.11, §3.4, C-017)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.ledger_port import LedgerPortAdapter
from billing.charges.requests import ChargePatchRequest, PeriodPatch
from billing.charges.runs import runs_of
from billing.charges.service import ChargesService
from tests.billing.charges.builders import JAN, flat_fee
from tests.billing.charges.conftest import CUSTOMER, NS, at

ledger_models = pytest.importorskip("billing.ledger.service")


@pytest.fixture
def real(store):  # type: ignore[no-untyped-def]
    from billing.ledger.service import StoreLedger

    return StoreLedger(store)


def _promo(store, real, amount: str) -> None:  # type: ignore[no-untyped-def]
    from tests.billing.ledger.builders import purchase

    with store.unit_of_work():
        real.on_promotional_credit_purchase(purchase(amount, customer_id=CUSTOMER, namespace=NS,
                                                     effective_at=at("2025-12-01T00:00:00")))


def _consistent(store) -> None:  # type: ignore[no-untyped-def]
    from billing.ledger.invariants import check_invariants

    assert check_invariants(store, NS, CUSTOMER) == []


def test_credits_flow_through_the_real_ledger(clock, store, billing_service, customer, real):
    service = ChargesService(store, LedgerPortAdapter(real))
    clock.set(at("2025-12-15T00:00:00"))
    _promo(store, real, "2")
    assert real.balance(NS, CUSTOMER, "USD") == Decimal(2)
    charge = service.create(NS, flat_fee("6"))
    clock.set(JAN.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert real.balance(NS, CUSTOMER, "USD") == Decimal(0)
    _consistent(store)

    shrink = PeriodPatch(kind="shrink", service_period_end=at("2026-01-02T00:00:00"), full_service_period_end=JAN.end,
                         billing_period_end=at("2026-01-02T00:00:00"), invoice_at=JAN.start)
    service.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: shrink}))
    (run,) = runs_of(service.get_charge(NS, charge.id).realizations)
    assert run.net_allocations == Decimal("0.19")
    assert real.balance(NS, CUSTOMER, "USD") == Decimal("1.81")  # C-017: 1.81 back to FBO
    _consistent(store)

    billing_service.approve_invoice(NS, invoice.id)
    billing_service.payment_event(NS, invoice.id, "paid")
    assert service.get_charge(NS, charge.id).status == "final"
    _consistent(store)


def test_overage_is_accrued_and_paid(clock, store, billing_service, customer, real):
    service = ChargesService(store, LedgerPortAdapter(real))
    clock.set(at("2025-12-15T00:00:00"))
    _promo(store, real, "30")
    charge = service.create(NS, flat_fee("100"))
    clock.set(JAN.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert billing_service.get_invoice(NS, invoice.id).totals.total == Decimal("70.00")
    billing_service.approve_invoice(NS, invoice.id)
    billing_service.payment_event(NS, invoice.id, "authorized")
    billing_service.payment_event(NS, invoice.id, "paid")
    charge = service.get_charge(NS, charge.id)
    (run,) = runs_of(charge.realizations)
    assert charge.status == "final" and run.payment is not None and run.payment.status == "settled"
    assert real.balance(NS, CUSTOMER, "USD") == Decimal(0)
    _consistent(store)
