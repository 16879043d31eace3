"""``subsync.sync.charges_stack``: one charges stack per store, wired into sync exactly when credits are on."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.charges.hooks import engines_for
from reconciler.settings import SyncSettings
from subsync.sync.charges_stack import charges_stack, sync_service
from reconciler.errors import CreditsUnavailableError
from tests.sync.world import API, CUSTOMER, FEE, NAMESPACE, setup

UTC = dt.timezone.utc
CREDITS = SyncSettings(credits_enabled=True)


def test_one_stack_per_store_with_every_engine_and_the_purchase_advancer(store) -> None:  # type: ignore[no-untyped-def]
    stack = charges_stack(store)
    assert charges_stack(store) is stack
    assert set(engines_for(store)) == {"charge_flatfee", "charge_usagebased", "charge_creditpurchase"}
    assert stack.purchases.advancer in stack.charges.advancers
    assert stack.charges.ledger is not None and stack.purchases.ledger is not None


def test_sync_service_has_the_charges_port_only_with_credits(store) -> None:  # type: ignore[no-untyped-def]
    assert sync_service(store).charges is None
    assert sync_service(store, SyncSettings(credits_enabled=False)).charges is None
    assert sync_service(store, CREDITS).charges is charges_stack(store).charges
    explicit = object()
    assert sync_service(store, CREDITS, charges=explicit).charges is explicit


def test_with_credits_sync_creates_charges_and_their_gathering_lines(make_world, store, clock) -> None:  # type: ignore[no-untyped-def]
    world = make_world(setup(FEE, API), service=None)
    world.service = sync_service(store, CREDITS, billing=world.billing)
    world.sync(as_of=dt.datetime(2024, 1, 15, tzinfo=UTC))
    charges = charges_stack(store).charges.list_customer_charges(NAMESPACE, CUSTOMER)
    assert sorted((c.type, c.unique_reference_id) for c in charges) == [
        ("flat_fee", "sub-1/main/fee/v[0]/period[0]"),
        ("flat_fee", "sub-1/main/fee/v[0]/period[1]"),  # in advance: February is invoiced on 02-01
        ("usage_based", "sub-1/main/api/v[0]/period[0]"),
    ]
    engines = sorted(line.engine for line in world.live_lines())
    assert engines == ["charge_flatfee", "charge_flatfee", "charge_usagebased"]
    assert all(line.charge_id in {c.id for c in charges} for line in world.live_lines())
    # An identical resync plans nothing: charge lines are invisible to the line read model.
    assert world.sync(as_of=dt.datetime(2024, 1, 15, tzinfo=UTC)).plan.is_empty


def test_without_credits_the_same_subscription_becomes_invoice_lines(make_world, store) -> None:  # type: ignore[no-untyped-def]
    world = make_world(setup(FEE, API), service=None)
    world.service = sync_service(store, SyncSettings(), billing=world.billing)
    world.sync(as_of=dt.datetime(2024, 1, 15, tzinfo=UTC))
    assert charges_stack(store).charges.list_customer_charges(NAMESPACE, CUSTOMER) == []
    assert sorted(line.engine for line in world.live_lines()) == ["invoicing"] * 3


def test_advance_customer_runs_due_charges(make_world, store, clock) -> None:  # type: ignore[no-untyped-def]
    world = make_world(setup(FEE, settlement_mode="credit_only"), service=None)
    world.service = sync_service(store, CREDITS, billing=world.billing)
    world.sync(as_of=dt.datetime(2024, 1, 15, tzinfo=UTC))
    stack = charges_stack(store)
    second = next(c for c in stack.charges.list_customer_charges(NAMESPACE, CUSTOMER)
                  if c.unique_reference_id == "sub-1/main/fee/v[0]/period[1]")
    assert second.status == "created"
    assert CUSTOMER not in stack.due_customers(NAMESPACE)
    world.at("2024-02-01T00:00:00Z")
    assert CUSTOMER in stack.due_customers(NAMESPACE)
    stack.advance_customer(NAMESPACE, CUSTOMER)
    assert stack.charges.get_charge(NAMESPACE, second.id).status == "final"
    assert CUSTOMER not in stack.due_customers(NAMESPACE)


def test_credit_only_without_credits_fails_the_sync(make_world, store) -> None:  # type: ignore[no-untyped-def]
    world = make_world(setup(FEE, settlement_mode="credit_only"), service=None)
    world.service = sync_service(store, SyncSettings(), billing=world.billing)
    with pytest.raises(CreditsUnavailableError):
        world.sync(as_of=dt.datetime(2024, 1, 15, tzinfo=UTC))
