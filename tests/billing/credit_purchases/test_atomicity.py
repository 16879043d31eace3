"""Atomic reactions (charges.md §0.4, §8 row 25, §10.9): a fault injected into each ledger port operation
inside each reaction — after the store ledger has written its entries — leaves no entry and no
realization row; a retry without the fault completes with exactly one set of entries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from billing.credit_purchases.ledger_adapter import StoreLedgerAdapter
from billing.credit_purchases.service import CreditPurchaseService
from tests.billing.credit_purchases.conftest import CUSTOMER, FEB_1, JAN_1, JAN_15, NS, assert_ledger_sound, intent, snapshot
from tests.billing.credit_purchases.spy import InjectedFault


class FaultAfterBooking(StoreLedgerAdapter):
    """The store ledger, but ``armed`` operations raise after their group is written."""

    def __init__(self, port) -> None:  # type: ignore[no-untyped-def]
        super().__init__(port)
        self.armed: set[str] = set()

    def __getattribute__(self, name: str):  # type: ignore[no-untyped-def]
        attribute = super().__getattribute__(name)
        if name.startswith("on_") and name in super().__getattribute__("armed"):
            def faulty(*args, **kwargs):  # type: ignore[no-untyped-def]
                attribute(*args, **kwargs)
                raise InjectedFault(f"fault after {name}")
            return faulty
        return attribute


@pytest.fixture
def faulty(store, billing, ledger):  # type: ignore[no-untyped-def]
    adapter = FaultAfterBooking(ledger)
    return CreditPurchaseService(store, adapter), adapter


def kinds(ledger) -> list[str]:  # type: ignore[no-untyped-def]
    return [group.kind for group in ledger.groups(NS, CUSTOMER)]


def run_with_fault(store, adapter, operation: str, action: Callable[[], object], retry: Callable[[], object] | None = None):  # type: ignore[no-untyped-def]
    before = snapshot(store)
    adapter.armed = {operation}
    with pytest.raises(InjectedFault):
        action()
    assert snapshot(store) == before
    adapter.armed = set()
    (retry or action)()


def test_promotional_grant(faulty, store, ledger, clock):
    service, adapter = faulty
    clock.set(JAN_15)
    run_with_fault(store, adapter, "on_promotional_credit_purchase",
                   lambda: service.create(NS, intent("10", settlement="promotional", effective_at=JAN_15)))
    assert kinds(ledger) == ["grant_issue"]
    assert_ledger_sound(store)


def test_external_grant_authorize_and_settle(faulty, store, ledger, clock):
    service, adapter = faulty
    clock.set(JAN_15)
    run_with_fault(store, adapter, "on_credit_purchase_initiated",
                   lambda: service.create(NS, intent("10", settlement="external", rate="1", effective_at=JAN_15)))
    [purchase] = service.list(NS, CUSTOMER)
    for operation, target in (("on_payment_authorized", "authorized"), ("on_payment_settled", "settled")):
        run_with_fault(store, adapter, operation,
                       lambda target=target: service.transition_external_payment(NS, purchase.id, target))
    assert kinds(ledger) == ["grant_issue", "payment_authorize", "payment_settle"]
    assert service.get(NS, purchase.id).status == "final"
    assert_ledger_sound(store)


def test_invoice_reactions_in_billing_hooks(faulty, store, ledger, billing, clock):
    service, adapter = faulty
    purchase = service.create(NS, intent("100", rate="1"))
    clock.set(JAN_1)
    run_with_fault(store, adapter, "on_credit_purchase_initiated",
                   lambda: billing.invoice_pending_lines(NS, CUSTOMER))
    invoice_id = service.get(NS, purchase.id).link.invoice_id  # type: ignore[union-attr]
    billing.approve_invoice(NS, invoice_id)
    for operation, event in (("on_payment_authorized", "authorized"),
                             ("on_payment_authorization_reversed", "failed"),
                             ("on_payment_authorized", "authorized"),
                             ("on_payment_settled", "paid")):
        run_with_fault(store, adapter, operation, lambda event=event: billing.payment_event(NS, invoice_id, event))
    assert kinds(ledger) == ["grant_issue", "payment_authorize", "payment_authorization_reverse",
                             "payment_authorize", "payment_settle"]
    assert service.get(NS, purchase.id).status == "final"
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


def test_purchase_void_and_manual_grant_void(faulty, store, ledger, billing, clock):
    service, adapter = faulty
    clock.set(JAN_15)
    voidable = service.create(NS, intent("100", rate="1", effective_at=JAN_15))
    invoice_id = voidable.link.invoice_id  # type: ignore[union-attr]
    billing.approve_invoice(NS, invoice_id)
    run_with_fault(store, adapter, "on_credit_purchase_voided", lambda: billing.void_invoice(NS, invoice_id))
    assert service.get(NS, voidable.id).status == "final.voided"
    promo = service.create(NS, intent("10", settlement="promotional", effective_at=JAN_15))
    run_with_fault(store, adapter, "on_credit_grant_voided", lambda: service.void_credit_grant(NS, promo.id))
    assert service.get(NS, promo.id).grant_voided_at is not None
    assert kinds(ledger).count("purchase_void") == 1 and kinds(ledger).count("grant_void") == 1
    assert_ledger_sound(store)
