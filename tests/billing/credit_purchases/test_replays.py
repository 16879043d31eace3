"""Idempotency of invoice events (charges.md §5.6.13, §10.2, §10.3; DV-01 … DV-06, C-065).

Base (§9.6): purchase P, USD, 100 credits at fiat rate 1, invoice settlement, created now (immediate),
so the invoice I holding line L is created with it; the store ledger books everything. Billing retries
a booking step by re-running its engine hooks, so a redelivered event is a hook run again. After each
delivery: exactly one grant, at most one payment and one settlement, and the §2.11 invariants hold.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from billing.charges.errors import ChargeConflictError, PreconditionFailed
from billing.credit_purchases import repository
from billing.credit_purchases.tables import GrantRow, PaymentRow
from tests.billing.credit_purchases.conftest import (
    CUSTOMER,
    JAN_15,
    NS,
    assert_ledger_sound,
    count,
    intent,
    snapshot,
)
from tests.billing.credit_purchases.helpers import deliver, event_args

HOOKS = {"authorized": "on_payment_authorized", "paid": "on_payment_settled", "failed": "on_payment_failed",
         "voided": "on_invoice_voided", "uncollectible": "on_invoice_uncollectible"}


@pytest.fixture
def base(real, billing, clock):  # type: ignore[no-untyped-def]
    clock.set(JAN_15)
    purchase = real.create(NS, intent("100", rate="1", effective_at=JAN_15))
    assert purchase.status == "active.payment.pending"
    invoice_id = purchase.link.invoice_id  # type: ignore[union-attr]
    billing.approve_invoice(NS, invoice_id)
    return purchase, invoice_id


def hook(store, real, invoice_id: str, event: str) -> None:  # type: ignore[no-untyped-def]
    """Billing (re)running the engine's hook of one payment step for the invoice."""
    with store.unit_of_work() as uow:
        invoice = uow.invoices.require_row(NS, invoice_id)
        lines = [row for row in uow.invoices.line_rows(invoice.id, include_deleted=False)
                 if row.engine == "charge_creditpurchase"]
        getattr(real.engine, HOOKS[event])(uow, invoice, lines)


def group_count(ledger, kind: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for group in ledger.groups(NS, CUSTOMER) if group.kind == kind)


def assert_one_of_each(store, ledger, purchase_id: str, *, settled: int) -> None:  # type: ignore[no-untyped-def]
    assert count(store, GrantRow, purchase_id) == 1 and group_count(ledger, "grant_issue") == 1
    assert count(store, PaymentRow, purchase_id) <= 1
    assert group_count(ledger, "payment_settle") == settled
    assert_ledger_sound(store)


def vector(ledger):  # type: ignore[no-untyped-def]
    return ledger.projection(NS, CUSTOMER, "USD").vector()


def test_DV_01_authorized_three_times(base, real, ledger, store):
    purchase, invoice_id = base
    with capture_logs() as logs:
        for _ in range(3):
            hook(store, real, invoice_id, "authorized")
            assert_one_of_each(store, ledger, purchase.id, settled=0)
    assert group_count(ledger, "payment_authorize") == 1
    replays = [e for e in logs if e["event"] == "charge.event.replayed"]
    assert len(replays) == 2 and all(e["charge_id"] == purchase.id and e["log_level"] == "info" for e in replays)
    assert replays[0]["invoice_id"] == invoice_id and replays[0]["line_id"] == purchase.link.line_id  # type: ignore[union-attr]
    assert (vector(ledger)["OpenRecv_all"], vector(ledger)["AuthRecv_all"]) == (0, Decimal(-100))


def test_DV_02_paid_three_times(base, real, ledger, store):
    purchase, invoice_id = base
    hook(store, real, invoice_id, "authorized")
    for _ in range(3):
        hook(store, real, invoice_id, "paid")
        assert_one_of_each(store, ledger, purchase.id, settled=1)
    assert real.get(NS, purchase.id).status == "final"
    assert (vector(ledger)["Wash_all"], vector(ledger)["AuthRecv_all"]) == (Decimal(-100), 0)


def test_DV_03_paid_before_authorized(base, real, ledger, store, statuses):
    purchase, invoice_id = base
    hook(store, real, invoice_id, "paid")
    assert [s for cid, s in statuses if cid == purchase.id][-3:] == [
        "active.payment.paid_and_authorized", "active.payment.settled", "final"]
    for _ in range(3):
        hook(store, real, invoice_id, "authorized")  # late: a no-op
        assert_one_of_each(store, ledger, purchase.id, settled=1)
    assert group_count(ledger, "payment_authorize") == 1 and real.get(NS, purchase.id).status == "final"


@pytest.mark.parametrize("event", ["authorized", "paid", "failed", "voided"])
def test_DV_04_an_event_for_another_invoice_changes_nothing(base, real, ledger, store, event):
    purchase, _ = base
    args = event_args(store, purchase)
    other = args["invoice"].model_copy(update={"id": "invoice-J"})
    line = args["line"].model_copy(update={"id": "line-M", "invoice_id": "invoice-J"})  # M carries P's charge id
    trigger = {"authorized": "payment_authorized", "paid": "payment_paid", "failed": "payment_failed",
               "voided": "invoice_voided"}[event]
    before = snapshot(store)
    for _ in range(3):
        with pytest.raises(ChargeConflictError, match="payment invoice ID must match invoice") as caught:
            deliver(store, real, purchase, trigger, invoice=other, line=line)
        assert caught.value.code == "payment_event_mismatch"
        assert snapshot(store) == before
    assert_one_of_each(store, ledger, purchase.id, settled=0)


def test_DV_05_failed_then_re_authorized_keeps_one_payment(base, real, ledger, store, billing):
    purchase, invoice_id = base
    billing.payment_event(NS, invoice_id, "authorized")
    billing.payment_event(NS, invoice_id, "failed")
    for _ in range(2):
        hook(store, real, invoice_id, "failed")  # redelivered: a replay
    after = real.get(NS, purchase.id)
    assert after.status == "active.payment.failed" and after.payment.status == "failed"  # type: ignore[union-attr]
    assert (vector(ledger)["AuthRecv_all"], vector(ledger)["OpenRecv_all"]) == (0, Decimal(-100))
    billing.payment_event(NS, invoice_id, "authorized")
    after = real.get(NS, purchase.id)
    assert after.status == "active.payment.authorized" and vector(ledger)["AuthRecv_all"] == Decimal(-100)
    assert count(store, PaymentRow, purchase.id) == 1 and group_count(ledger, "payment_authorization_reverse") == 1
    assert_one_of_each(store, ledger, purchase.id, settled=0)


def test_DV_06_failed_then_paid(base, real, ledger, store, billing):
    purchase, invoice_id = base
    billing.payment_event(NS, invoice_id, "authorized")
    billing.payment_event(NS, invoice_id, "failed")
    billing.payment_event(NS, invoice_id, "paid")
    for _ in range(2):
        hook(store, real, invoice_id, "paid")
    assert real.get(NS, purchase.id).status == "final" and vector(ledger)["Wash_all"] == Decimal(-100)
    assert_one_of_each(store, ledger, purchase.id, settled=1)


@pytest.mark.parametrize("event", ["voided", "uncollectible"])
def test_a_void_redelivered_is_a_no_op_and_later_payments_are_refused(base, real, ledger, store, billing, event):
    purchase, invoice_id = base
    if event == "voided":
        billing.void_invoice(NS, invoice_id)
    else:
        billing.payment_event(NS, invoice_id, "uncollectible")
    for _ in range(2):
        hook(store, real, invoice_id, event)
    assert real.get(NS, purchase.id).status == "final.voided" and group_count(ledger, "purchase_void") == 1
    before = snapshot(store)
    for late in ("authorized", "paid"):
        with pytest.raises(PreconditionFailed) as caught:
            hook(store, real, invoice_id, late)
        assert caught.value.code == "credit_purchase_charge_voided"
    assert snapshot(store) == before
    assert_one_of_each(store, ledger, purchase.id, settled=0)


def test_DV_08_uncollectible_before_authorization_then_paid(base, real, ledger, store, billing):
    purchase, invoice_id = base
    billing.payment_event(NS, invoice_id, "uncollectible")
    after = real.get(NS, purchase.id)
    assert after.status == "final.voided" and after.payment is None
    assert group_count(ledger, "payment_authorization_reverse") == 0
    before = snapshot(store)
    with pytest.raises(PreconditionFailed) as caught:
        hook(store, real, invoice_id, "paid")  # the engine's answer to a later "paid" booking
    assert caught.value.code == "credit_purchase_charge_voided"
    assert snapshot(store) == before


def test_C_065_a_paid_event_for_a_different_line_is_rejected_without_side_effects(purchases, billing, store, clock,
                                                                                  spy):
    clock.set(JAN_15)
    purchase = purchases.create(NS, intent("100", rate="0.5", effective_at=JAN_15))
    invoice_id = purchase.link.invoice_id  # type: ignore[union-attr]
    billing.approve_invoice(NS, invoice_id)
    billing.payment_event(NS, invoice_id, "authorized")
    purchase = purchases.get(NS, purchase.id)
    assert purchase.status == "active.payment.authorized" and purchase.payment.line_id == purchase.link.line_id  # type: ignore[union-attr]
    args = event_args(store, purchase)
    before, calls = snapshot(store), len(spy.calls)
    with pytest.raises(ChargeConflictError, match="payment line ID must match line"):
        deliver(store, purchases, purchase, "payment_paid", line=args["line"].model_copy(update={"id": "different-line"}))
    assert snapshot(store) == before and len(spy.calls) == calls


def test_CP_18_CP_19_the_ledger_receives_the_line_total(purchases, billing, store, clock, spy, statuses):
    from billing.rating import Totals

    clock.set(JAN_15)
    purchase = purchases.create(NS, intent("100", rate="0.5", effective_at=JAN_15))
    line = event_args(store, purchase)["line"]
    odd = line.model_copy(update={"totals": Totals(amount=Decimal("49.99"), total=Decimal("49.99"))})
    authorized = deliver(store, purchases, purchase, "payment_authorized", line=odd)
    [call] = spy.named("on_payment_authorized")
    assert call.amount == Decimal("49.99") and call.status == "active.payment.authorized"
    assert call.purchase.payment is None
    assert authorized.payment.fiat_amount == Decimal("49.99")  # type: ignore[union-attr]
    assert (authorized.payment.line_id, authorized.payment.invoice_id) == (line.id, line.invoice_id)  # type: ignore[union-attr]
    settled = deliver(store, purchases, purchase, "payment_paid", line=odd)
    [call] = spy.named("on_payment_settled")
    assert call.amount == Decimal("49.99") and call.status == "active.payment.settled"
    assert call.purchase.payment.status == "authorized"  # type: ignore[union-attr]
    assert settled.status == "final" and settled.payment.status == "settled"  # type: ignore[union-attr]
    assert [s for cid, s in statuses if cid == purchase.id][-3:] == [
        "active.payment.authorized", "active.payment.settled", "final"]


def test_concurrent_deliveries_of_one_event_book_it_once(base, real, ledger, store):
    """§10.3: two transactions deliver the same authorized (then paid) event at the same time."""
    purchase, invoice_id = base
    for event in ("authorized", "paid"):
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def deliver_once() -> None:
            try:
                barrier.wait(timeout=10)
                hook(store, real, invoice_id, event)
            except BaseException as exc:  # noqa: BLE001 — collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=deliver_once) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert all(isinstance(error, (ChargeConflictError, PreconditionFailed)) for error in errors), errors
    assert real.get(NS, purchase.id).status == "final"
    assert group_count(ledger, "payment_authorize") == 1 and group_count(ledger, "payment_settle") == 1
    with store.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(PaymentRow)) == 1
        assert repository.load(uow, NS, purchase.id, lock=False).payment.status == "settled"  # type: ignore[union-attr]
    assert_one_of_each(store, ledger, purchase.id, settled=1)
