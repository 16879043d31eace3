"""Promotional settlement (charges.md §5.4): PR-1 … PR-3, C-058, C-059, CP-22 … CP-26."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeConflictError, ChargeValidationError, PreconditionFailed
from billing.credit_purchases.actions import PurchaseContext
from billing.credit_purchases.machines import ExternalMachine, PromotionalMachine
from billing.credit_purchases.tables import GrantRow
from tests.billing.credit_purchases.conftest import (
    CUSTOMER,
    JAN_1,
    JAN_15,
    JANUARY,
    NS,
    assert_ledger_sound,
    count,
    facts,
    fire,
    insert_purchase,
    intent,
    snapshot,
)


def test_C_058_a_promotional_purchase_completes_in_one_step(purchases, spy):
    def check(purchase):  # the spy asserts inside the call (C-058)
        assert purchase.settlement_type == "promotional"
        assert purchase.grant is None and purchase.payment is None
        assert purchase.status == "final"

    spy.only = {"on_promotional_credit_purchase"}
    spy.checks["on_promotional_credit_purchase"] = check
    created = purchases.create(NS, intent(settlement="promotional"))
    assert [p.id for p in purchases.list(NS, CUSTOMER)] == [created.id]
    assert created.charge.type == "credit_purchase"
    assert spy.count("on_promotional_credit_purchase") == 1
    [call] = spy.calls
    assert created.status == "final" and created.grant is not None
    assert created.grant.transaction_group_id == call.group
    reloaded = purchases.get(NS, created.id)
    assert reloaded.status == "final" and reloaded.grant == created.grant


def test_C_059_custom_currency_promotional_purchase_rounds_to_its_precision(purchases, spy, store):
    def check(purchase):
        assert purchase.currency == "TOKENS" and purchase.grant is None and purchase.settlement_type == "promotional"

    spy.checks["on_promotional_credit_purchase"] = check
    created = purchases.create(NS, intent("100.1234", currency="TOKENS", settlement="promotional",
                                          name="Custom Currency Credit Purchase", tax_config={"code": "txcd_grant"}))
    assert spy.count("on_promotional_credit_purchase") == 1
    assert created.status == "final" and created.currency == "TOKENS"
    assert created.credit_amount == Decimal("100.123")
    assert created.grant is not None and created.grant.transaction_group_id == spy.calls[0].group
    assert created.intent.tax_config is not None and created.intent.tax_config.code == "txcd_grant"
    reloaded = purchases.get(NS, created.id)
    assert (reloaded.status, reloaded.currency, reloaded.credit_amount) == ("final", "TOKENS", Decimal("100.123"))
    assert count(store, GrantRow, created.id) == 1


def test_CP_22_PR_1_created_next_final_grants_at_now(purchases, spy, store, clock, statuses):
    clock.set(JAN_15)
    raw = insert_purchase(store, purchases, intent(settlement="promotional"))
    assert raw.status == "created" and facts(store, raw.id) == (0, 0, 0)
    done = fire(store, purchases, raw.id, "next")
    assert done.status == "final"
    assert done.grant is not None and done.grant.granted_at == JAN_15
    assert done.grant.transaction_group_id == spy.calls[-1].group
    assert [s for cid, s in statuses if cid == raw.id] == ["final"]
    assert facts(store, raw.id) == (1, 0, 0)


def test_CP_23_PR_2_legacy_active_moves_to_final_with_one_grant(purchases, spy, store, statuses):
    raw = insert_purchase(store, purchases, intent(settlement="promotional"), status="active")
    done = fire(store, purchases, raw.id, "next")
    assert done.status == "final" and spy.count("on_promotional_credit_purchase") == 1
    assert [s for cid, s in statuses if cid == raw.id] == ["final"]
    assert count(store, GrantRow, raw.id) == 1


def test_CP_24_an_existing_grant_refuses_a_second_one(purchases, spy, store):
    raw = insert_purchase(store, purchases, intent(settlement="promotional"))
    with store.unit_of_work() as uow:
        from billing.credit_purchases import repository
        from billing.credit_purchases.realizations import GrantRealization

        repository.insert_grant(uow, raw, GrantRealization(id="g-0", transaction_group_id="tx-0", granted_at=JAN_1))
    before = snapshot(store)
    with pytest.raises(ChargeConflictError, match="promotional credit grant already realized"):
        fire(store, purchases, raw.id, "next")
    assert spy.calls == [] and snapshot(store) == before


def test_CP_25_PR_3_final_is_stable(purchases, spy, store):
    created = purchases.create(NS, intent(settlement="promotional"))
    before, calls = snapshot(store), len(spy.calls)
    with store.unit_of_work() as uow:
        from billing.credit_purchases import repository

        machine = PromotionalMachine(purchases.context(uow), repository.load(uow, NS, created.id))
        assert not machine.can_fire("next")
        machine.advance_until_stable()
    assert snapshot(store) == before and len(spy.calls) == calls


@pytest.mark.parametrize("trigger", ["next", "payment_authorized", "payment_paid", "invoice_created", "invoice_voided"])
def test_every_trigger_but_next_is_refused_and_final_refuses_all(purchases, spy, store, trigger):
    created = purchases.create(NS, intent(settlement="promotional"))
    before = snapshot(store)
    args = {"line": object()} if trigger == "invoice_created" else {}
    with pytest.raises(PreconditionFailed) as caught:
        fire(store, purchases, created.id, trigger, **args)
    assert trigger in str(caught.value) and "final" in str(caught.value) and created.id in str(caught.value)
    assert snapshot(store) == before and spy.count("on_promotional_credit_purchase") == 1


def test_an_unknown_trigger_is_a_validation_error(purchases, store):
    created = purchases.create(NS, intent(settlement="promotional"))
    with pytest.raises(ChargeValidationError, match="unsupported trigger"):
        fire(store, purchases, created.id, "explode")


def test_CP_26_machine_construction_checks_its_purchase_and_dependencies(purchases, store):
    created = purchases.create(NS, intent(settlement="promotional"))
    with store.unit_of_work() as uow:
        from billing.credit_purchases import repository

        purchase = repository.load(uow, NS, created.id)
        with pytest.raises(ChargeValidationError, match="it is not external"):
            ExternalMachine(purchases.context(uow), purchase)
        with pytest.raises(ValueError, match="needs a unit of work and a ledger"):
            PromotionalMachine(PurchaseContext(uow=uow, ledger=None), purchase)  # type: ignore[arg-type]


def test_promotional_with_the_real_ledger_books_fbo_and_wash_at_cost_basis_zero(real, ledger, store, clock):
    clock.set(JAN_1)
    created = real.create(NS, intent("100", settlement="promotional", effective_at=JAN_1))
    assert created.status == "final"
    vector = ledger.projection(NS, CUSTOMER, "USD").vector()
    assert vector["FBO_all"] == vector["FBO_promo"] == Decimal(100)
    assert vector["Wash_all"] == vector["Wash_promo"] == Decimal(-100)
    assert vector["OpenRecv_all"] == vector["AuthRecv_all"] == 0
    assert ledger.grant_for_charge(NS, created.id) is not None
    assert_ledger_sound(store)


def test_intent_periods_are_kept_without_effective_at(purchases):
    created = purchases.create(NS, intent(settlement="promotional"))
    assert created.service_period == JANUARY
