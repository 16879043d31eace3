"""Reconcile one customer's subscriptions: the unit of work of a worker task (and of locking).

``reconcile_customer(request, store=…, service=…)`` syncs the customer's due subscriptions exactly as
the periodic job does (``sync_by_id(…, now, skip_custom_currency_subscriptions=True)``, reconciler §7.2),
one subscription per transaction, each under the customer lock of reconciler §6.3 — the PostgreSQL
lock row ``SELECT … FOR UPDATE`` (SQLite: ``BEGIN IMMEDIATE``), which holds across worker processes
and machines because it lives in the database.

Idempotent, level-based: a delivery of the same request twice (a re-delivered message after a worker
died, a retry, the same customer enqueued twice) re-checks each subscription **under the lock** before
syncing it:

- unforced, a subscription the first delivery already synced is no longer due (its sync state moved
  ``next_sync_after`` on), so it is left alone and its sync state is written once per run;
- forced, a subscription synced at or after ``synced_since`` (the instant a forced wall-clock run was
  enqueued) is left alone as well; without that instant it is synced again and plans nothing.

Errors: a transient error (``subsync.worker.transient``) propagates, so the task retries the request
(what was committed stays committed and is skipped next time); any other error is recorded for that
subscription — with its ``subsync.errors`` category, terminal — and the customer's other subscriptions
go on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from billing.store import Store
from billing.sync_state import SubscriptionRef, SyncState
from subsync.job import (
    CHUNK_SIZE,
    ListedSubscription,
    Outcome,
    SubscriptionFailure,
    list_pages,
    not_due_reason,
    outcome_of,
)
from subsync.job.preplan import PrePlanner
from subsync.sync import SubscriptionNotFoundError, SyncOptions
from subsync.worker.transient import is_transient

log = structlog.get_logger(__name__)

AUTOMATIC = SyncOptions(skip_custom_currency_subscriptions=True)


class CustomerRequest(BaseModel):
    """What a ``reconcile_customer`` task is asked to do (its JSON arguments)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    #: The subscriptions the enqueuer selected; None: every subscription of the customer the periodic
    #: job would list (active within ``lookback``, and the deleted ones).
    subscription_ids: tuple[str, ...] | None = None
    #: Sync as of this instant (the store's clock reads it); None: the wall clock.
    as_of: AwareDatetime | None = None
    force: bool = False
    #: Forced runs only: subscriptions synced at or after this instant are already done.
    synced_since: AwareDatetime | None = None
    lookback: dt.timedelta | None = None
    invoice: bool = False


class FailureRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    subscription_id: str | None
    stage: str
    category: str
    message: str


class CustomerResult(BaseModel):
    """What a task did for one customer (its JSON result)."""

    namespace: str
    customer_id: str
    now: dt.datetime
    synced: list[str] = Field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    not_due: int = 0
    failed: list[FailureRecord] = Field(default_factory=list)
    invoices: list[str] = Field(default_factory=list)

    @property
    def processed(self) -> int:
        return len(self.synced) + self.unchanged + self.skipped + len(self.failed)

    def record(self, subscription_id: str, outcome: Outcome) -> None:
        if outcome is Outcome.SYNCED:
            self.synced.append(subscription_id)
        elif outcome is Outcome.UNCHANGED:
            self.unchanged += 1
        elif outcome is Outcome.SKIPPED:
            self.skipped += 1

    def fail(self, failure: SubscriptionFailure) -> None:
        self.failed.append(FailureRecord(subscription_id=failure.subscription_id, stage=failure.stage,
                                         category=failure.category, message=failure.message))


def listed_subscriptions(request: CustomerRequest, service: Any, now: dt.datetime) -> list[ListedSubscription]:
    """The request's subscriptions with their sync states, in listing order."""
    if request.subscription_ids is None:
        lookback = request.lookback if request.lookback is not None else service.settings.reconcile_default_lookback
        return [
            listed
            for page in list_pages(service.subscriptions, service.sync_states, now=now, lookback=lookback,
                                   namespaces=[request.namespace], customers=[request.customer_id],
                                   page_size=service.settings.reconcile_page_size)
            for listed in page
        ]
    wanted = list(dict.fromkeys(request.subscription_ids))
    page = service.subscriptions.list_subscriptions(ids=wanted, namespaces=[request.namespace], include_deleted=True)
    refs = [SubscriptionRef(namespace=item.namespace, subscription_id=item.id) for item in page.items]
    states = service.sync_states.get_many(refs) if refs else {}
    by_id = {
        item.id: ListedSubscription(
            namespace=item.namespace, subscription_id=item.id, customer_id=item.customer_id,
            active_from=item.active_from, active_to=item.active_to, deleted=item.deleted_at is not None,
            sync_state=states.get(ref),
        )
        for item, ref in zip(page.items, refs)
    }
    return [by_id[subscription_id] for subscription_id in wanted if subscription_id in by_id]


def already_done(state: SyncState | None, now: dt.datetime, *, force: bool, synced_since: dt.datetime | None) -> bool:
    """True when this run has nothing to do for a subscription with sync state ``state``."""
    if not force:
        return not_due_reason(state, now) is not None
    return synced_since is not None and state is not None and state.synced_at >= synced_since


def reconcile_customer(request: CustomerRequest, *, store: Store, service: Any, preplan: bool = True) -> CustomerResult:
    """Sync the request's due subscriptions; transient errors propagate (the caller retries)."""
    now = request.as_of if request.as_of is not None else store.clock.now()
    result = CustomerResult(namespace=request.namespace, customer_id=request.customer_id, now=now)
    listed = listed_subscriptions(request, service, now)
    missing = sorted(set(request.subscription_ids or ()) - {item.subscription_id for item in listed})
    for subscription_id in missing:
        result.fail(SubscriptionFailure(request.namespace, subscription_id, request.customer_id,
                                        SubscriptionNotFoundError(f"subscription {subscription_id!r} not found in "
                                                                  f"namespace {request.namespace!r}",
                                                                  subscription_id=subscription_id)))
    due = []
    for item in listed:
        if already_done(item.sync_state, now, force=request.force, synced_since=request.synced_since):
            result.not_due += 1
        else:
            due.append(item)
    for start in range(0, len(due), CHUNK_SIZE):
        chunk = due[start : start + CHUNK_SIZE]
        quiet = {}
        if preplan and request.force:
            # §7.2 batching, as the job does for a forced run: an unlocked dry run of the chunk finds the
            # subscriptions that need nothing; every other one is planned afresh under the lock.
            forced = [item for item in chunk if not_due_reason(item.sync_state, now) is not None]
            if forced:
                quiet = PrePlanner(service, store).quiet(forced, now)
        for item in chunk:
            with structlog.contextvars.bound_contextvars(namespace=item.namespace, subscription_id=item.subscription_id,
                                                         customer_id=item.customer_id):
                if item.ref in quiet:
                    outcome = outcome_of(quiet[item.ref])
                    result.record(item.subscription_id, outcome)
                    log.info("worker.subscription_done", outcome=outcome.value, locked=False)
                    continue
                _sync_one(item, request, store, service, now, result)
    return result


def _sync_one(item: ListedSubscription, request: CustomerRequest, store: Store, service: Any, now: dt.datetime,
              result: CustomerResult) -> None:
    try:
        # One transaction holding the customer lock from the due check to the sync-state write: the
        # sync service's own locked transaction joins it (a savepoint), so a second delivery waiting
        # on the lock sees this one's committed sync state.
        with store.locked_transaction(item.namespace, item.customer_id):
            state = service.sync_states.get(item.ref)
            if already_done(state, now, force=request.force, synced_since=request.synced_since):
                result.not_due += 1
                log.info("worker.subscription_done", outcome="not_due", locked=True)
                return
            synced = service.sync_by_id(item.namespace, item.subscription_id, now, AUTOMATIC)
    except Exception as exc:
        if is_transient(exc):
            raise
        failure = SubscriptionFailure(item.namespace, item.subscription_id, item.customer_id, exc)
        result.fail(failure)
        log.error("worker.subscription_failed", error_type=failure.category, error=failure.message)
        if failure.category == "InternalError":
            log.debug("worker.subscription_failed.traceback", exc_info=exc)
        return
    outcome = outcome_of(synced)
    result.record(item.subscription_id, outcome)
    log.info("worker.subscription_done", outcome=outcome.value, locked=True)


def invoice_customer(store: Store, service: Any, namespace: str, customer_id: str) -> list[str]:
    """Invoice the customer's pending lines under the customer lock (after its syncs have committed);
    nothing to invoice is not an error. Returns the new invoices' ids."""
    from billing.errors import NothingToInvoiceError

    settings = service.settings
    try:
        with store.locked_transaction(namespace, customer_id):
            invoices = service.billing.invoice_pending_lines(
                namespace, customer_id, force_async_advance=settings.force_async_invoice_pending_lines,
                allow_partial=False, max_lines_per_invoice=settings.max_lines_per_collected_invoice,
            )
    except NothingToInvoiceError:
        log.info("worker.nothing_to_invoice", namespace=namespace, customer_id=customer_id)
        return []
    ids = [invoice.id for invoice in invoices]
    log.info("worker.invoiced", namespace=namespace, customer_id=customer_id, invoices=ids)
    return ids


__all__ = [
    "CustomerRequest",
    "CustomerResult",
    "FailureRecord",
    "already_done",
    "invoice_customer",
    "listed_subscriptions",
    "reconcile_customer",
]
