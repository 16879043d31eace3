"""Enqueue the due customers: the periodic job's selection, fanned out as one task per customer.

``enqueue_due(store, send=…, settings=…)`` lists subscriptions exactly as ``subsync reconcile`` does
(``ReconcileJob.selected``: the two listing passes of reconciler §7.1, the skip rules of §7.2,
``--limit``), groups the selected subscriptions by customer — the unit of locking — and sends one
``reconcile_customer`` message per customer carrying the selected ids. It holds at most ``flush_every``
selected subscriptions in memory: a customer whose subscriptions straddle two flushes gets two messages,
which is harmless (each re-checks its subscriptions under the customer lock).

Times: with ``as_of`` every task syncs as of that instant (like ``--as-of``); without, each task reads
the wall clock when it runs. A forced wall-clock run also sends ``synced_since`` (the enqueue instant),
so a re-delivered forced task skips what it already did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from billing.store import Store
from reconciler.settings import SyncSettings
from subsync.job import ListedSubscription, ReconcileJob
from subsync.worker.config import RECONCILE_CUSTOMER

log = structlog.get_logger(__name__)

#: Selected subscriptions held in memory before their customers' messages are sent.
FLUSH_EVERY = 10_000

Send = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class CustomerBatch:
    namespace: str
    customer_id: str
    subscription_ids: tuple[str, ...]


@dataclass
class EnqueueSummary:
    now: dt.datetime
    force: bool
    customers: int = 0
    subscriptions: int = 0
    task_ids: list[str] = field(default_factory=list)

    def as_dict(self, *, with_task_ids: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = {
            "now": self.now.isoformat().replace("+00:00", "Z"), "force": self.force,
            "tasks": len(self.task_ids), "customers": self.customers, "subscriptions": self.subscriptions,
        }
        if with_task_ids:
            document["task_ids"] = list(self.task_ids)
        return document

    def summary_line(self) -> str:
        return (f"enqueued {len(self.task_ids)} task(s) for {self.subscriptions} subscription(s) of "
                f"{self.customers} customer(s)")


def customer_batches(selected: Iterable[ListedSubscription], *, flush_every: int = FLUSH_EVERY) -> Iterator[CustomerBatch]:
    """The selected subscriptions grouped by (namespace, customer), in first-seen order."""
    if flush_every < 1:
        raise ValueError(f"flush_every must be at least 1, got {flush_every}")
    buffer: dict[tuple[str, str], list[str]] = {}
    held = 0
    for listed in selected:
        buffer.setdefault((listed.namespace, listed.customer_id), []).append(listed.subscription_id)
        held += 1
        if held >= flush_every:
            yield from (CustomerBatch(ns, customer, tuple(ids)) for (ns, customer), ids in buffer.items())
            buffer, held = {}, 0
    yield from (CustomerBatch(ns, customer, tuple(ids)) for (ns, customer), ids in buffer.items())


def task_kwargs(batch: CustomerBatch, *, as_of: dt.datetime | None, force: bool, synced_since: dt.datetime | None,
                invoice: bool) -> dict[str, Any]:
    """The JSON arguments of a ``reconcile_customer`` message."""
    def instant(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "namespace": batch.namespace, "customer_id": batch.customer_id,
        "subscription_ids": list(batch.subscription_ids), "as_of": instant(as_of), "force": force,
        "synced_since": instant(synced_since), "invoice": invoice,
    }


def sender(app: Any, queue: str) -> Send:
    """Send ``reconcile_customer`` messages through a Celery ``app`` (by task name) to ``queue``."""
    def send(kwargs: dict[str, Any]) -> str:
        return app.send_task(RECONCILE_CUSTOMER, kwargs=kwargs, queue=queue).id

    return send


def enqueue_due(
    store: Store,
    *,
    send: Send,
    settings: SyncSettings | None = None,
    namespaces: Collection[str] | None = None,
    customers: Collection[str] | None = None,
    lookback: dt.timedelta | None = None,
    force: bool = False,
    limit: int | None = None,
    as_of: dt.datetime | None = None,
    invoice: bool = False,
    flush_every: int = FLUSH_EVERY,
) -> EnqueueSummary:
    """Select like ``subsync reconcile`` and send one message per customer; returns what was sent."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    job = ReconcileJob.for_store(store, settings=settings, preplan=False)
    now = as_of if as_of is not None else store.clock.now()
    synced_since = now if force and as_of is None else None
    summary = EnqueueSummary(now=now, force=force)
    selected = job.selected(namespaces=namespaces, customers=customers, lookback=lookback, force=force, limit=limit,
                            now=now)
    seen: set[tuple[str, str]] = set()
    for batch in customer_batches(selected, flush_every=flush_every):
        summary.task_ids.append(send(task_kwargs(batch, as_of=as_of, force=force, synced_since=synced_since,
                                                 invoice=invoice)))
        seen.add((batch.namespace, batch.customer_id))
        summary.subscriptions += len(batch.subscription_ids)
    summary.customers = len(seen)
    log.info("worker.enqueued", tasks=len(summary.task_ids), customers=summary.customers,
             subscriptions=summary.subscriptions, force=force, now=now.isoformat())
    return summary


__all__ = ["CustomerBatch", "EnqueueSummary", "customer_batches", "enqueue_due", "sender", "task_kwargs"]
