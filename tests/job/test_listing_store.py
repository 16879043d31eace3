"""``StoreListing`` (the job's view-less listing) lists what the subscription port lists, in the same
order, for the filters of reconciler.md §7.1, and pages the same way."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.period import Period
from billing.subscription_store import SubscriptionStore
from subscriptions import edits
from subsync.job.listing import StoreListing
from subsync.sync import PageRequest, StoredSubscriptions
from tests.job.stores import NAMESPACE, seed

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture
def stores(store, clock):  # type: ignore[no-untyped-def]
    ids = seed(store, 9, per_customer=3)
    subscriptions = SubscriptionStore(store)
    port = StoredSubscriptions(subscriptions)
    ended = edits.cancel(port.get_view(NAMESPACE, ids[1]), "2024-05-29T00:00:00Z")
    long_ago = edits.cancel(port.get_view(NAMESPACE, ids[2]), "2024-02-01T00:00:00Z")
    for view in (ended, long_ago):
        sub = view.subscription
        subscriptions.upsert_subscription(NAMESPACE, sub.id, customer_id=sub.customer_id,
                                          view=view.model_dump(mode="json"), active_from=sub.active_from,
                                          active_to=sub.active_to)
    clock.set(NOW - dt.timedelta(days=2))
    subscriptions.delete_subscription(NAMESPACE, ids[4])
    clock.set(NOW)
    return StoreListing(store), port


CASES = {
    "live in the last day": {"active_in": Period(start=NOW - dt.timedelta(days=1), end=NOW)},
    "live in the last week": {"active_in": Period(start=NOW - dt.timedelta(days=7), end=NOW)},
    "deleted by now": {"deleted_before": NOW, "include_deleted": True},
    "deleted before it happened": {"deleted_before": NOW - dt.timedelta(days=3), "include_deleted": True},
    "one customer": {"active_in": Period(start=NOW - dt.timedelta(days=1), end=NOW), "customer_ids": ["cus-00001"]},
    "another namespace": {"active_in": Period(start=NOW - dt.timedelta(days=1), end=NOW), "namespaces": ["other"]},
}


@pytest.mark.parametrize("filters", CASES.values(), ids=CASES.keys())
def test_same_subscriptions_in_the_same_order(stores, filters):
    light, port = stores
    for page_size in (2, 100):
        for number in (1, 2, 3):
            page = PageRequest(page_number=number, page_size=page_size)
            heads = light.list_subscriptions(**filters, page=page)
            full = port.list_subscriptions(**filters, page=page)
            assert [(h.id, h.customer_id, h.active_from, h.active_to, h.deleted_at) for h in heads.items] == [
                (s.id, s.customer_id, s.active_from, s.active_to, s.deleted_at) for s in full.items]
            assert heads.is_last == full.is_last


def test_the_cases_are_not_trivial(stores):
    light, _ = stores
    counts = {name: len(light.list_subscriptions(**filters).items) for name, filters in CASES.items()}
    assert counts == {"live in the last day": 6, "live in the last week": 7, "deleted by now": 1,
                      "deleted before it happened": 0, "one customer": 2, "another namespace": 0}
