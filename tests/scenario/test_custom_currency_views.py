"""S-046 and S-047 of the sync catalogue: a stale event view against the current subscription state.

Both need two views of one subscription at once — the current, custom-currency priced view V the
subscription store holds, and a stale fiat view F an event carries — which a scenario file cannot
express (the runner always syncs its one current view). They run here against the sync service on the
scenario runner's store, set up from the S-044 fixture (V: one flat fee priced in the custom currency
CREDITS).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from billing.sync_state import SubscriptionRef
from subscriptions.models import SubscriptionView
from subsync.scenario.document import load_scenario
from subsync.scenario.world import World, create_world
from subsync.sync import CustomCurrencyNotSupportedError, SyncOptions, SyncService

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "sync" / "S-044-custom-currency-explicit-sync-refused.yaml"
NOW = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
MESSAGE = "billing sync does not support subscriptions with custom-currency priced items"


@pytest.fixture
def world():
    world = create_world(load_scenario(FIXTURE))
    yield world
    world.close()


def fiat_view(view: SubscriptionView) -> SubscriptionView:
    """F: the same subscription with every price in the plan's (fiat) invoice currency."""
    phases = []
    for phase in view.phases:
        items = {
            key: tuple(
                version.model_copy(update={"rate_card": version.rate_card.model_copy(
                    update={"price": version.rate_card.price.model_copy(update={"currency": None})}
                )})
                for version in versions
            )
            for key, versions in phase.items_by_key.items()
        }
        phases.append(phase.model_copy(update={"items_by_key": items}))
    return view.model_copy(update={"phases": tuple(phases)})


def nothing_written(world: World) -> None:
    assert world.sync_states.get(SubscriptionRef(namespace=world.namespace, subscription_id=world.subscription_id)) is None
    assert world.billing.list_customer_invoices(world.namespace, world.customer_id) == []


def test_the_stale_view_is_fiat_and_the_current_one_is_not(world):
    stale = fiat_view(world.view)
    assert all(v.rate_card.price.currency is None for p in stale.phases for vs in p.items_by_key.values() for v in vs)
    assert {v.rate_card.price.currency for p in world.view.phases for vs in p.items_by_key.values() for v in vs} == {
        "CREDITS"
    }


def test_s046_explicit_sync_rejects_a_stale_fiat_view_when_the_current_state_is_custom(world):
    service = SyncService.for_store(world.store)
    with pytest.raises(CustomCurrencyNotSupportedError) as info:
        service.sync_by_view(fiat_view(world.view), NOW, SyncOptions())
    assert MESSAGE in str(info.value)
    assert info.value.subscription_id == world.subscription_id
    nothing_written(world)


def test_s047_automatic_sync_skips_a_stale_fiat_view_when_the_current_state_is_custom(world):
    service = SyncService.for_store(world.store)
    result = service.sync_by_view_and_invoice_customer(
        fiat_view(world.view), NOW, SyncOptions(skip_custom_currency_subscriptions=True)
    )
    assert result.skipped is True and result.plan is None
    nothing_written(world)


def test_a_fiat_view_with_a_fiat_current_state_is_synced(world):
    """The contrast: once the stored (current) view is fiat too, the same call syncs and writes."""
    stale = fiat_view(world.view)
    world.store_view(stale)
    result = SyncService.for_store(world.store).sync_by_view(stale, NOW, SyncOptions())
    assert result.skipped is False and result.plan is not None and not result.plan.is_empty
    state = world.sync_states.get(SubscriptionRef(namespace=world.namespace, subscription_id=world.subscription_id))
    assert state is not None and state.has_billables
