"""Two workers reconcile the same customer at once: exactly one applies; the other, after waiting for
the customer lock, plans nothing (forced) or finds nothing due (unforced).

Each worker is a separate process running the ``reconcile_customer`` task (eagerly, on its own
database connections), as two Celery pool processes or two machines would. The first one is held
inside its locked transaction, just after it loaded the persisted state; the second starts meanwhile.
Only when the first is released and has written its sync state may the second get past the lock.
Runs on SQLite (``BEGIN IMMEDIATE``) and, with ``SUBSYNC_TEST_DATABASE_URL``, on PostgreSQL (the lock
row ``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue as queue_module
import time
from typing import Any

import pytest

from billing.clock import FrozenClock
from billing.service import BillingService
from billing.store import Store, create_store_engine
from subsync.sync import SyncService
from tests.sync.world import CUSTOMER, NAMESPACE, SUBSCRIPTION, World

UTC = dt.timezone.utc
AT = dt.datetime(2024, 1, 15, tzinfo=UTC)
HOLD_SECONDS = 1.5
FORK = multiprocessing.get_context("fork")


class Traced:
    """The billing port, recording each load of the persisted state (and whether it ran under the
    customer lock); the first worker's also holds there until released."""

    def __init__(self, inner: Any, store: Store, name: str, events: Any, hold: Any = None, holding: Any = None) -> None:
        self._inner, self._store, self._name, self._events = inner, store, name, events
        self._hold, self._holding = hold, holding

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    def get_standard_lines_for_subscription(self, *args: Any, **kwargs: Any) -> Any:
        current = self._store.current
        locked = current is not None and bool(current.locked_customers)
        self._events.put((f"{self._name} loads{' under the lock' if locked else ''}", time.monotonic()))
        if self._holding is not None and locked:
            self._holding.set()
            self._hold.wait(timeout=30)
        return self._inner.get_standard_lines_for_subscription(*args, **kwargs)


def run_worker(url: str, schema: str | None, name: str, force: bool, events: Any, results: Any,
               hold: Any = None, holding: Any = None) -> None:
    """A worker process: the ``reconcile_customer`` task for the customer, on its own connections."""
    from subsync.worker.context import WorkerContext, use_context
    from subsync.worker.tasks import reconcile_customer

    def service_factory(store: Store, settings: Any) -> SyncService:
        service = SyncService.for_store(store, settings=settings,
                                        billing=Traced(BillingService(store), store, name, events, hold, holding))
        upsert = service.sync_states.upsert

        def traced_upsert(state: Any) -> None:
            upsert(state)
            events.put((f"{name} wrote its sync state", time.monotonic()))

        service.sync_states.upsert = traced_upsert  # type: ignore[method-assign]
        return service

    engine = create_store_engine(url, schema=schema)
    try:
        with use_context(WorkerContext(database_url=url, engine=engine, service_factory=service_factory)):
            outcome = reconcile_customer.apply(kwargs={"namespace": NAMESPACE, "customer_id": CUSTOMER,
                                                       "as_of": AT.isoformat(), "force": force})
        results.put((name, outcome.get(propagate=False) if outcome.successful() else repr(outcome.result)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        results.put((name, repr(exc)))
    finally:
        engine.dispose()


def drain(channel: Any) -> list[Any]:
    items = []
    while True:
        try:
            items.append(channel.get(timeout=0.5))
        except queue_module.Empty:
            return items


@pytest.mark.postgres
@pytest.mark.parametrize("force", [True, False], ids=["forced", "due"])
def test_two_workers_on_one_customer_exactly_one_applies(store, database, clock, force):
    url, schema = database
    clock.set(AT)
    world = World(store, clock)  # one customer, one subscription with a monthly fee and metered usage
    store.engine.dispose()  # no pooled connection crosses the fork
    events, results = FORK.Queue(), FORK.Queue()
    hold, holding = FORK.Event(), FORK.Event()
    first = FORK.Process(target=run_worker, args=(url, schema, "first", force, events, results, hold, holding))
    second = FORK.Process(target=run_worker, args=(url, schema, "second", force, events, results))
    first.start()
    try:
        assert holding.wait(timeout=60), "the first worker never reached its locked load"
        second.start()
        events.put(("second started", time.monotonic()))
        time.sleep(HOLD_SECONDS)  # the second worker now waits for the customer lock
        events.put(("first released", time.monotonic()))
        hold.set()
        first.join(timeout=120)
        second.join(timeout=120)
    finally:
        for process in (first, second):
            if process.is_alive():
                process.kill()
    outcomes = dict(drain(results))
    order = [label for label, _ in sorted(drain(events), key=lambda event: event[1])]

    assert isinstance(outcomes.get("first"), dict), outcomes
    assert isinstance(outcomes.get("second"), dict), outcomes
    assert outcomes["first"]["synced"] == [SUBSCRIPTION]  # the first applied its plan
    assert outcomes["second"]["synced"] == [] and outcomes["second"]["failed"] == []
    # The first held the lock from its load to its sync-state write while the second was started.
    position = {label: index for index, label in enumerate(order)}
    assert (position["first loads under the lock"] < position["second started"] < position["first released"]
            < position["first wrote its sync state"]), order
    second_loads = [index for index, label in enumerate(order) if label.startswith("second loads")]
    if force:
        # Forced, the second synced too, but only after the first had committed (PostgreSQL: its locked
        # load waited on the lock row; SQLite: its first transaction waited on BEGIN IMMEDIATE), so it
        # planned against the first one's lines: an empty plan.
        assert outcomes["second"]["unchanged"] == 1
        assert second_loads and min(second_loads) > position["first wrote its sync state"], order
    else:
        # Unforced, the second re-read the sync state once it had the lock: no longer due, so it
        # planned nothing at all.
        assert outcomes["second"]["not_due"] == 1
        assert second_loads == [], order
    identities = [line.child_unique_reference_id for line in world.live_lines()]
    assert identities and len(identities) == len(set(identities))
    assert world.sync().plan.is_empty
