"""The sync-state update rule (reconciler.md §6.4): the table row by row, then as a real sync writes it."""

from __future__ import annotations

import pytest

from subsync.sync import next_sync_state
from tests.sync.plans import at
from tests.sync.world import API, ARREARS, FEE, setup

NOW = at("2024-01-15")
LIMIT = at("2024-02-01")


@pytest.mark.parametrize(
    ("prevent", "has_billables", "limit", "expected"),
    [
        pytest.param(True, True, LIMIT, (False, None), id="prevent further syncs (deleted customer)"),
        pytest.param(False, False, LIMIT, (False, None), id="no billables"),
        pytest.param(False, False, None, (False, None), id="no billables, no limit"),
        pytest.param(False, True, LIMIT, (True, LIMIT), id="billables and a generation limit"),
        pytest.param(False, True, None, (True, None), id="billables, no generation limit"),
    ],
)
def test_update_rule_table(prevent, has_billables, limit, expected):
    state = next_sync_state(namespace="ns", subscription_id="sub-1", now=NOW, has_billables=has_billables,
                            max_generation_time_limit=limit, prevent_further_syncs=prevent)
    assert (state.has_billables, state.next_sync_after) == expected
    assert state.synced_at == NOW and state.subscription_id == "sub-1" and state.namespace == "ns"


def test_an_active_subscription_resyncs_at_the_end_of_the_billing_period_containing_as_of(make_world):
    world = make_world()
    world.at("2024-01-15T00:00:00Z")
    world.sync()
    state = world.sync_state()
    assert (state.has_billables, state.next_sync_after, state.synced_at) == (True, LIMIT, NOW)


def test_a_subscription_without_prices_has_no_billables(make_world):
    world = make_world(setup({"key": "free", "type": "flat_fee", "billing_cadence": "P1M", "price": None}))
    world.at("2024-01-15T00:00:00Z")
    result = world.sync()
    assert result.plan.is_empty and not result.plan.has_billables
    state = world.sync_state()
    assert (state.has_billables, state.next_sync_after) == (False, None)


def test_an_ended_subscription_needs_no_time_based_resync(make_world):
    from subscriptions.edits import cancel

    world = make_world(setup(FEE, ARREARS))
    world.edit(cancel, at("2024-03-01"))
    world.at("2024-03-05T00:00:00Z")
    world.sync()
    state = world.sync_state()
    assert (state.has_billables, state.next_sync_after) == (True, None)


def test_a_future_subscription_records_its_first_billable_time(make_world):
    world = make_world(setup(FEE, API, clock="2024-02-01T00:00:00Z"))
    world.at("2024-02-01T00:00:00Z")
    # as_of before the start: the limit is the subscription start (targetstate §5.3)
    world.sync(as_of=at("2024-01-20"))
    assert world.sync_state().next_sync_after == at("2024-02-01")


def test_the_sync_state_is_written_only_by_a_successful_sync(make_world, monkeypatch):
    world = make_world()
    world.at("2024-01-15T00:00:00Z")

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("injected")

    monkeypatch.setattr(world.billing, "create_pending_invoice_lines", fail)
    with pytest.raises(RuntimeError):
        world.sync()
    assert world.sync_state() is None
