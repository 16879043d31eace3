"""A subscription event delivered three times — one after another, or all at once — leaves one set of
artifacts (reconciler §6.7 trigger handlers, ``subsync.sync.SyncTriggers``).

Event buses deliver at least once, so every handler must be idempotent. For each subscription event the
first delivery does the work (lines created, changed or removed; pending lines invoiced); the second and
third find nothing to do: every table — lines, invoices, groups, issues, sync state — is exactly as the
first delivery left it. Delivered concurrently by three threads, the deliveries serialise on the
customer lock: no live identity is doubled and a fourth delivery changes nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest

from subscriptions import edits
from subsync.sync import SyncTriggers
from tests.sync.stores import table_dump
from tests.sync.world import ARREARS, NAMESPACE, SUBSCRIPTION, World

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def created(world: World, triggers: SyncTriggers) -> Callable[[], Any]:
    return lambda: triggers.subscription_created(world.view)


def updated(world: World, triggers: SyncTriggers) -> Callable[[], Any]:
    world.sync(invoice=True)
    world.at("2024-01-20T00:00:00Z")
    view = world.edit(edits.add_item, "main", ARREARS, at("2024-01-20T00:00:00Z"))
    return lambda: triggers.subscription_updated(view)


def cancelled(world: World, triggers: SyncTriggers) -> Callable[[], Any]:
    world.sync(invoice=True)
    world.at("2024-01-20T00:00:00Z")
    view = world.edit(edits.cancel, at("2024-02-10T00:00:00Z"))
    deliver = lambda: triggers.subscription_cancelled(view)  # noqa: E731
    deliver.as_of = view.subscription.active_to  # type: ignore[attr-defined] # syncs the whole remaining schedule
    return deliver


def continued(world: World, triggers: SyncTriggers) -> Callable[[], Any]:
    world.edit(edits.cancel, at("2024-02-10T00:00:00Z"))
    world.sync(invoice=True)
    world.at("2024-01-20T00:00:00Z")
    view = world.edit(edits.continue_subscription)
    return lambda: triggers.subscription_continued(view)


def deleted(world: World, triggers: SyncTriggers) -> Callable[[], Any]:
    world.sync()
    world.at("2024-01-20T00:00:00Z")
    world.delete_subscription()
    return lambda: triggers.subscription_deleted(NAMESPACE, SUBSCRIPTION)


def sync_requested(world: World, triggers: SyncTriggers) -> Callable[[], Any]:
    return lambda: triggers.subscription_sync_requested(NAMESPACE, SUBSCRIPTION)


EVENTS = [created, updated, cancelled, continued, deleted, sync_requested]


def prepared(store: Any, clock: Any, event: Callable[..., Any]) -> tuple[World, Callable[[], Any]]:
    clock.set(at("2024-01-15T00:00:00Z"))
    world = World(store, clock)
    return world, event(world, SyncTriggers(world.service))


def live_identities(world: World) -> list[str]:
    return world.live_identities()


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.__name__)
def test_an_event_delivered_three_times_leaves_one_set_of_artifacts(store, clock, event):
    world, deliver = prepared(store, clock, event)
    before = table_dump(store)

    deliver()
    once = table_dump(store)
    assert once != before  # the first delivery did the work
    deliver()
    deliver()

    assert table_dump(store) == once
    identities = live_identities(world)
    assert len(identities) == len(set(identities))
    assert world.sync(as_of=getattr(deliver, "as_of", None)).plan.is_empty  # a sync at the event's as_of: nothing


@pytest.mark.postgres
@pytest.mark.parametrize("event", [created, updated, cancelled], ids=lambda event: event.__name__)
def test_an_event_delivered_three_times_at_once_leaves_one_set_of_artifacts(store, clock, event):
    world, deliver = prepared(store, clock, event)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def delivery() -> None:
        start.wait(timeout=30)
        try:
            deliver()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=delivery) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    identities = live_identities(world)
    assert identities and len(identities) == len(set(identities))
    standard = [i for i in world.invoices() if i.kind == "standard" and i.deleted_at is None]
    invoiced = [line.child_unique_reference_id for invoice in standard for line in invoice.lines or ()
                if line.deleted_at is None]
    assert len(invoiced) == len(set(invoiced))  # no line invoiced twice
    settled = table_dump(store)
    deliver()  # a fourth, late delivery finds nothing to do
    assert table_dump(store) == settled
