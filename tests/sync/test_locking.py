"""Locking (reconciler.md §6.3, §11 item 11): two concurrent syncs of one customer serialise.

The first sync is held inside its locked transaction (after loading the persisted state); the second
one, started meanwhile, must not load until the first has committed — so it sees the first one's lines
and plans nothing. Runs on SQLite (``BEGIN IMMEDIATE``) and, when ``SUBSYNC_TEST_DATABASE_URL`` is set,
on PostgreSQL (lock row + ``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from subsync.sync import SyncService
from tests.sync.world import NAMESPACE, SUBSCRIPTION

HOLD_SECONDS = 1.0


class Traced:
    """Wraps a billing port: records when the persisted state is loaded, optionally holding there."""

    def __init__(self, inner: Any, name: str, events: list[tuple[str, float]], hold: threading.Event | None = None,
                 holding: threading.Event | None = None) -> None:
        self._inner, self._name, self._events, self._hold, self._holding = inner, name, events, hold, holding

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    def get_standard_lines_for_subscription(self, *args: Any, **kwargs: Any) -> Any:
        self._events.append((f"{self._name} loads", time.monotonic()))
        if self._holding is not None:
            self._holding.set()
            assert self._hold is not None
            self._hold.wait(timeout=10)
        return self._inner.get_standard_lines_for_subscription(*args, **kwargs)


@pytest.mark.postgres
def test_two_concurrent_syncs_of_one_customer_serialise(make_world, store):
    world = make_world()
    world.at("2024-01-15T00:00:00Z")
    events: list[tuple[str, float]] = []
    holding, release = threading.Event(), threading.Event()
    first = SyncService.for_store(store, billing=Traced(world.billing, "first", events, release, holding))
    second = SyncService.for_store(store, billing=Traced(world.billing, "second", events))
    real_upsert = first.sync_states.upsert

    def traced_upsert(state: Any) -> None:  # the first sync's last write inside its transaction
        real_upsert(state)
        events.append(("first wrote its sync state", time.monotonic()))

    first.sync_states.upsert = traced_upsert  # type: ignore[method-assign]
    results: dict[str, Any] = {}

    def run(name: str, service: SyncService) -> None:
        try:
            results[name] = service.sync_by_id(NAMESPACE, SUBSCRIPTION, world.clock.now())
        except BaseException as error:  # noqa: BLE001 - reported by the assertions below
            results[name] = error

    one = threading.Thread(target=run, args=("first", first))
    one.start()
    assert holding.wait(timeout=10), "the first sync never reached its load"
    two = threading.Thread(target=run, args=("second", second))
    two.start()
    events.append(("second started", time.monotonic()))
    time.sleep(HOLD_SECONDS)  # the second sync is now waiting for the customer lock
    events.append(("first released", time.monotonic()))
    release.set()
    one.join(timeout=30)
    two.join(timeout=30)

    assert not isinstance(results["first"], BaseException), results["first"]
    assert not isinstance(results["second"], BaseException), results["second"]
    order = [name for name, _ in sorted(events, key=lambda event: event[1])]
    # The second sync was started while the first held the lock, yet loaded only after the first had
    # written everything; its empty plan shows it read the first one's committed lines.
    assert order == ["first loads", "second started", "first released", "first wrote its sync state",
                     "second loads"], order
    assert not results["first"].plan.is_empty
    assert results["second"].plan.is_empty  # it planned against the first sync's committed lines
    identities = [line.child_unique_reference_id for line in world.live_lines()]
    assert len(identities) == len(set(identities)) == len(results["first"].plan.patches)
