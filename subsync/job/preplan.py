"""Unlocked pre-planning for the periodic job (reconciler.md §7.2 "Batching").

A forced run syncs subscriptions that are not due, and nearly all of them are already converged:
their plan is empty and their sync state would be written back unchanged (only ``synced_at`` would
move). For those the customer lock, the transaction commit and the sync-state write are pure cost.

``PrePlanner.quiet(chunk, now)`` dry-runs a chunk of such subscriptions inside **one** read
transaction, without any customer lock (the sync service runs unchanged; only its
``locked_transaction`` is replaced by a savepoint of the shared transaction that is always rolled
back), with everything the syncs read batch-loaded for the whole chunk in a fixed number of
statements (``subsync.job.prefetch``). It returns the subscriptions that need nothing: an empty plan (or a skip) whose sync state
needs no change. Every other subscription is synced normally by the job, which takes the lock, loads
and plans afresh before applying anything: an unlocked plan is never applied.

Which subscriptions are pre-planned is the job's choice: only those that ``force`` added (a sync state
exists and the skip rules would have left it alone). A due subscription almost always gets a new
``next_sync_after``, so pre-planning it would only add work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import structlog

from billing.service import BillingService
from billing.store import Store
from billing.sync_state import SubscriptionRef, SyncState
from subsync.job.listing import ListedSubscription
from subsync.job.prefetch import ChunkReads, PrefetchedBilling, PrefetchedSubscriptions, chunk_reads
from subsync.sync import StoredSubscriptions, SyncOptions, SyncResult, SyncService, next_sync_state

log = structlog.get_logger(__name__)


class _UnlockedBilling:
    """The billing port with ``locked_transaction`` replaced by a rolled-back savepoint of the
    current transaction (no lock is taken). Everything else is the real port."""

    def __init__(self, billing: Any, store: Store) -> None:
        self._billing = billing
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._billing, name)

    @contextlib.contextmanager
    def locked_transaction(self, namespace: str, customer_id: str, *, rollback: bool = False) -> Iterator[Any]:
        if not rollback:
            raise RuntimeError("the pre-planner only dry-runs; an unlocked plan is never applied")
        uow = self._store.current
        if uow is None:
            raise RuntimeError("the pre-planner runs inside the chunk's transaction")
        savepoint = uow.session.begin_nested()
        try:
            yield uow
        finally:
            if savepoint.is_active:
                savepoint.rollback()


def state_needs_no_change(result: SyncResult, current: SyncState | None, now: dt.datetime) -> bool:
    """True when a real sync would write back the sync state as it is (``synced_at`` aside)."""
    if result.skipped:
        return True  # a skipped sync writes nothing at all
    if current is None:
        return False
    namespace, subscription_id = current.namespace, current.subscription_id
    if result.plan is None:  # the deleted-customer path: "prevent further syncs"
        wanted = next_sync_state(namespace=namespace, subscription_id=subscription_id, now=now,
                                 has_billables=False, max_generation_time_limit=None, prevent_further_syncs=True)
    else:
        if not result.plan.is_empty:
            return False
        wanted = next_sync_state(namespace=namespace, subscription_id=subscription_id, now=now,
                                 has_billables=result.plan.has_billables,
                                 max_generation_time_limit=result.plan.max_generation_time_limit)
    return (wanted.has_billables, wanted.next_sync_after) == (current.has_billables, current.next_sync_after)


class PrePlanner:
    def __init__(self, service: SyncService, store: Store, *, prefetch: bool = True) -> None:
        self.store = store
        self.base = service
        # Batch loading reads the store directly, in place of the store's own billing and subscription
        # ports; a service wired to other ports (a fake, a traced or decorated port) is read through them.
        self.prefetch = prefetch and type(service.billing) is BillingService \
            and type(service.subscriptions) is StoredSubscriptions
        self.service = self.service_for({})

    def service_for(self, reads: dict[str, ChunkReads]) -> SyncService:
        """The sync service with unlocked transactions, reading the chunk's prefetched data."""
        base = self.base
        billing = PrefetchedBilling(base.billing, reads) if reads else base.billing
        subscriptions = PrefetchedSubscriptions(base.subscriptions, reads) if reads else base.subscriptions
        return SyncService(
            billing=_UnlockedBilling(billing, self.store),
            subscriptions=subscriptions,
            sync_states=base.sync_states,
            clock=base.clock,
            settings=base.settings,
            charges=base.charges,
            line_engine=base.line_engine,
            custom_currencies=base.custom_currencies,
        )

    def quiet(self, chunk: Sequence[ListedSubscription], now: dt.datetime) -> dict[SubscriptionRef, SyncResult]:
        """The subscriptions of ``chunk`` that need nothing, with their dry-run results.

        A subscription whose dry run raises is left to the locked sync, which reports the error.
        """
        quiet: dict[SubscriptionRef, SyncResult] = {}
        options = SyncOptions(dry_run=True, skip_custom_currency_subscriptions=True)
        try:
            with self.store.unit_of_work() as uow:
                service = self.service_for(chunk_reads(uow, chunk)) if self.prefetch else self.service
                for listed in chunk:
                    try:
                        result = service.sync_by_id(listed.namespace, listed.subscription_id, now, options)
                    except Exception as exc:  # noqa: BLE001 - the locked sync raises it again and reports it
                        log.debug("reconcile.preplan_failed", subscription_id=listed.subscription_id,
                                  error_type=type(exc).__name__)
                        continue
                    if state_needs_no_change(result, listed.sync_state, now):
                        quiet[listed.ref] = result
        except Exception as exc:  # noqa: BLE001 - nothing was written; what was found quiet stays quiet
            log.debug("reconcile.preplan_transaction_failed", error_type=type(exc).__name__)
        return quiet


__all__ = ["PrePlanner", "state_needs_no_change"]
