"""Sync state (reconciler §6.4) and subscriptions kept as rows for the periodic job."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from billing.errors import NotFoundError
from billing.subscription_store import SubscriptionStore
from billing.sync_state import SubscriptionRef, SyncState
from billing.sync_state_store import SyncStateStore
from tests.billing.builders import CUSTOMER, NS, at, make_customer, period


def test_sync_state_upsert_get_many_and_invalidate(store):
    states = SyncStateStore(store)
    first = SyncState(namespace=NS, subscription_id="sub-1", has_billables=True, synced_at=at(1), next_sync_after=at(2))
    other = SyncState(namespace="ns-2", subscription_id="sub-2", has_billables=False, synced_at=at(1))
    states.upsert(first)
    states.upsert(other)
    updated = first.model_copy(update={"has_billables": False, "synced_at": at(1, 5), "next_sync_after": None})
    states.upsert(updated)
    refs = [first.ref, other.ref, SubscriptionRef(namespace=NS, subscription_id="sub-2")]
    assert states.get_many(refs) == {first.ref: updated, other.ref: other}
    states.invalidate(first.ref)
    assert states.get(first.ref) is None and states.get(other.ref) == other


def test_sync_state_validation():
    with pytest.raises(ValidationError):
        SyncState(namespace=NS, subscription_id="", has_billables=True, synced_at=at(1))
    with pytest.raises(ValidationError):
        SyncState(namespace=NS, subscription_id="sub-1", has_billables=True, synced_at=at(1).replace(tzinfo=None))


def test_sync_state_joins_a_rolled_back_dry_run(store, billing_service):
    make_customer(billing_service)
    states = SyncStateStore(store)
    with billing_service.locked_transaction(NS, CUSTOMER, rollback=True):
        states.upsert(SyncState(namespace=NS, subscription_id="sub-1", has_billables=True, synced_at=at(1)))
    assert states.get(SubscriptionRef(namespace=NS, subscription_id="sub-1")) is None


def test_subscription_rows_keep_the_view_json_and_filter_listings(store, billing_service, clock):
    make_customer(billing_service)
    subs = SubscriptionStore(store)
    view = {"subscription": {"id": "sub-1", "active_from": "2024-01-01T00:00:00Z"}, "phases": []}
    subs.upsert_subscription(NS, "sub-1", customer_id=CUSTOMER, view=view, active_from=at(1), active_to=at(3))
    subs.upsert_subscription(NS, "sub-2", customer_id=CUSTOMER, view={"v": 1}, active_from=at(5))
    assert subs.get_subscription(NS, "sub-1").view == view
    clock.set(at(1, 2))
    changed = subs.upsert_subscription(NS, "sub-2", customer_id=CUSTOMER, view={"v": 2}, active_from=at(5))
    assert changed.view == {"v": 2} and changed.updated_at == at(1, 2) and changed.created_at == at(1)

    assert [s.id for s in subs.list_subscriptions(active_in=period(at(2), at(2, 10)))] == ["sub-1"]
    assert [s.id for s in subs.list_subscriptions(active_in=period(at(6), at(7)))] == ["sub-2"]
    assert [s.id for s in subs.list_subscriptions(customer_ids=[CUSTOMER], limit=1, offset=1)] == ["sub-2"]
    subs.delete_subscription(NS, "sub-1")
    assert [s.id for s in subs.list_subscriptions()] == ["sub-2"]
    assert [s.id for s in subs.list_subscriptions(deleted_before=at(1, 3))] == ["sub-1"]
    assert [s.id for s in subs.list_subscriptions(include_deleted=True)] == ["sub-1", "sub-2"]
    with pytest.raises(NotFoundError):
        subs.get_subscription(NS, "sub-9")
    with pytest.raises(NotFoundError):
        subs.upsert_subscription(NS, "sub-3", customer_id="nobody", view={}, active_from=at(1))
    with pytest.raises(ValueError, match="naive"):
        subs.upsert_subscription(NS, "sub-3", customer_id=CUSTOMER, view={}, active_from=at(1).replace(tzinfo=None))
