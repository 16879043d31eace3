"""External settlement (charges.md §5.5): EX-1 … EX-7, C-062, CP-10, CP-20, CP-21, DV-15, CP-31."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeConflictError, ChargeValidationError, PreconditionFailed
from billing.credit_purchases import repository
from billing.credit_purchases.realizations import LedgerRef, Payment
from billing.credit_purchases.tables import PaymentRow
from tests.billing.credit_purchases.conftest import (
    CUSTOMER,
    DEC_1,
    JAN_1,
    NS,
    assert_ledger_sound,
    count,
    facts,
    fire,
    intent,
    snapshot,
)


def test_C_062_created_as_settled_runs_grant_authorize_settle_in_one_create(purchases, spy, statuses):
    seen: dict[str, object] = {}

    def initiated(p):
        assert p.settlement_type == "external" and p.grant is None and p.payment is None
        assert p.status == "active.initial_credit_grant"

    def authorized(p):
        assert p.grant is not None and p.grant.transaction_group_id == spy.named("on_credit_purchase_initiated")[0].group
        assert p.payment is None and p.status == "active.payment.paid_and_authorized"

    def settled(p):
        assert p.grant is not None and p.payment is not None and p.payment.status == "authorized"
        assert p.payment.authorized.transaction_group_id == spy.named("on_payment_authorized")[0].group
        assert p.status == "active.payment.settled"
        seen["settled"] = True

    spy.only = {"on_credit_purchase_initiated", "on_payment_authorized", "on_payment_settled"}
    spy.checks.update(on_credit_purchase_initiated=initiated, on_payment_authorized=authorized,
                      on_payment_settled=settled)
    created = purchases.create(NS, intent("100.123", settlement="external", initial_status="settled"))
    assert [c.operation for c in spy.calls] == ["on_credit_purchase_initiated", "on_payment_authorized",
                                                "on_payment_settled"]
    for purchase in (created, purchases.get(NS, created.id)):
        assert purchase.status == "final"
        assert purchase.intent.cost_basis.rate == Decimal("0.5")  # type: ignore[union-attr]
        assert purchase.grant.transaction_group_id == spy.calls[0].group  # type: ignore[union-attr]
        payment = purchase.payment
        assert payment is not None and payment.kind == "external" and payment.status == "settled"
        assert payment.authorized.transaction_group_id == spy.calls[1].group
        assert payment.settled is not None and payment.settled.transaction_group_id == spy.calls[2].group
        assert payment.fiat_amount == Decimal("50.06") and payment.invoice_id is None
    assert [s for cid, s in statuses if cid == created.id] == [
        "active.initial_credit_grant", "active.payment.pending", "active.payment.paid_and_authorized",
        "active.payment.settled", "final"]


def test_CP_10_authorized_then_settled_through_the_api(purchases, spy, statuses):
    created = purchases.create(NS, intent(settlement="external"))
    assert created.status == "active.payment.pending" and created.grant is not None and created.payment is None
    assert spy.named("on_credit_purchase_initiated")[0].status == "active.initial_credit_grant"
    authorized = purchases.transition_external_payment(NS, created.id, "authorized")
    [call] = spy.named("on_payment_authorized")
    assert call.status == "active.payment.authorized" and call.purchase.payment is None
    assert call.amount == Decimal("50.00")
    assert authorized.status == "active.payment.authorized" and authorized.payment.status == "authorized"  # type: ignore[union-attr]
    settled = purchases.transition_external_payment(NS, created.id, "settled")
    [call] = spy.named("on_payment_settled")
    assert call.status == "active.payment.settled" and call.purchase.payment.status == "authorized"  # type: ignore[union-attr]
    assert settled.status == "final" and settled.payment.status == "settled"  # type: ignore[union-attr]
    assert [s for cid, s in statuses if cid == created.id] == [
        "active.initial_credit_grant", "active.payment.pending", "active.payment.authorized",
        "active.payment.settled", "final"]


def test_CP_20_created_as_authorized(purchases, spy, statuses):
    def authorized(p):
        assert p.status == "active.payment.authorized" and p.grant is not None and p.payment is None

    spy.checks["on_payment_authorized"] = authorized
    created = purchases.create(NS, intent(settlement="external", initial_status="authorized"))
    assert created.status == "active.payment.authorized" and created.payment.status == "authorized"  # type: ignore[union-attr]
    assert [c.operation for c in spy.calls] == ["on_credit_purchase_initiated", "on_payment_authorized"]
    assert [s for cid, s in statuses if cid == created.id] == [
        "active.initial_credit_grant", "active.payment.pending", "active.payment.authorized"]


def test_CP_21_an_existing_payment_on_a_pending_purchase_is_payment_already_authorized(purchases, spy, store):
    created = purchases.create(NS, intent(settlement="external"))
    stray = Payment(id="p-0", kind="external", status="authorized", fiat_amount=Decimal(50), currency="USD",
                    service_period=created.service_period,
                    authorized=LedgerRef(transaction_group_id="tx", at=DEC_1))
    with store.unit_of_work() as uow:
        repository.save_payment(uow, created, stray)
    before, calls = snapshot(store), len(spy.calls)
    with pytest.raises(ChargeConflictError) as caught:
        purchases.transition_external_payment(NS, created.id, "authorized")
    assert caught.value.code == "payment_already_authorized"
    assert snapshot(store) == before and len(spy.calls) == calls


def test_DV_15_repeated_external_transitions_are_logged_no_ops(purchases, spy, store):
    created = purchases.create(NS, intent(settlement="external"))
    purchases.transition_external_payment(NS, created.id, "authorized")
    before = snapshot(store)
    assert purchases.transition_external_payment(NS, created.id, "authorized").status == "active.payment.authorized"
    assert snapshot(store) == before
    purchases.transition_external_payment(NS, created.id, "settled")
    before = snapshot(store)
    for target in ("settled", "authorized"):
        assert purchases.transition_external_payment(NS, created.id, target).status == "final"
    assert snapshot(store) == before
    assert spy.count("on_payment_authorized") == 1 and spy.count("on_payment_settled") == 1
    assert count(store, PaymentRow, created.id) == 1


def test_EX_4_EX_5_settled_from_pending_authorizes_first(purchases, spy):
    created = purchases.create(NS, intent(settlement="external"))
    done = purchases.transition_external_payment(NS, created.id, "settled")
    assert done.status == "final"
    assert [c.status for c in spy.calls[1:]] == ["active.payment.paid_and_authorized", "active.payment.settled"]


@pytest.mark.parametrize(("status_setup", "trigger"), [
    ("pending", "invoice_created"), ("pending", "payment_failed"), ("pending", "invoice_voided"),
    ("pending", "next"), ("authorized", "payment_authorized"), ("authorized", "payment_failed"),
    ("authorized", "invoice_voided"), ("authorized", "next"), ("final", "payment_paid"),
    ("final", "payment_authorized"), ("final", "next"),
])
def test_illegal_triggers_change_nothing(purchases, spy, store, status_setup, trigger):
    created = purchases.create(NS, intent(settlement="external"))
    if status_setup in ("authorized", "final"):
        purchases.transition_external_payment(NS, created.id, "authorized")
    if status_setup == "final":
        purchases.transition_external_payment(NS, created.id, "settled")
    before, calls = snapshot(store), len(spy.calls)
    args = {"line": object()} if trigger == "invoice_created" else {}
    with pytest.raises(PreconditionFailed) as caught:
        fire(store, purchases, created.id, trigger, **args)
    assert trigger in str(caught.value) and created.id in str(caught.value)
    assert snapshot(store) == before and len(spy.calls) == calls


def test_only_external_purchases_take_external_transitions(purchases, store, clock):
    promo = purchases.create(NS, intent(settlement="promotional"))
    with pytest.raises(ChargeValidationError) as caught:
        purchases.transition_external_payment(NS, promo.id, "authorized")
    assert caught.value.code == "credit_grant_external_settlement_not_supported"
    with pytest.raises(ChargeValidationError):
        purchases.transition_external_payment(NS, promo.id, "refunded")  # type: ignore[arg-type]


def test_external_with_the_real_ledger_authorizes_then_settles(real, ledger, store, clock):
    clock.set(JAN_1)
    created = real.create(NS, intent("100", settlement="external", rate="1", effective_at=JAN_1))
    vector = ledger.projection(NS, CUSTOMER, "USD").vector()
    assert (vector["FBO_all"], vector["OpenRecv_all"]) == (Decimal(100), Decimal(-100))
    real.transition_external_payment(NS, created.id, "authorized")
    vector = ledger.projection(NS, CUSTOMER, "USD").vector()
    assert (vector["OpenRecv_all"], vector["AuthRecv_all"]) == (0, Decimal(-100))
    real.transition_external_payment(NS, created.id, "settled")
    vector = ledger.projection(NS, CUSTOMER, "USD").vector()
    assert (vector["FBO_all"], vector["AuthRecv_all"], vector["Wash_all"]) == (Decimal(100), 0, Decimal(-100))
    assert facts(store, created.id) == (1, 0, 1)
    assert_ledger_sound(store)


def test_CP_31_dynamic_external_resolves_at_service_start_when_created(real, ledger, store, clock):
    clock.set(DEC_1)
    basis = real.add_currency_cost_basis(NS, "TOKENS", "USD", Decimal("0.25"), JAN_1)
    dynamic = {"type": "custom_currency", "mode": "dynamic", "fiat_currency": "USD"}
    created = real.create(NS, intent("100", currency="TOKENS", settlement="external", cost_basis=dynamic))
    assert created.status == "active.payment.pending"
    resolved = created.resolved_cost_basis
    assert resolved is not None and resolved.rate == Decimal("0.25") and resolved.source_id == basis.id
    assert resolved.resolved_at == JAN_1
    # no gathering line ever exists for external settlement
    with store.unit_of_work(read_only=True) as uow:
        assert repository.live_lines(uow, NS, created.id) == []
    real.transition_external_payment(NS, created.id, "authorized")
    assert real.get(NS, created.id).payment.fiat_amount == Decimal("25.00")  # type: ignore[union-attr]
    assert ledger.projection(NS, CUSTOMER, "USD", as_of=JAN_1).vector()["AuthRecv_all"] == Decimal(-25)
    real.transition_external_payment(NS, created.id, "settled")
    assert real.get(NS, created.id).status == "final"
    assert ledger.projection(NS, CUSTOMER, "USD", as_of=JAN_1).vector()["Wash_all"] == Decimal(-25)
    assert_ledger_sound(store)
