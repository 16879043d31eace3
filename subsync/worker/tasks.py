"""The Celery tasks. Each is a thin shell over ``subsync.worker.customer`` / ``enqueue``:

- ``subsync.reconcile_customer`` — sync one customer's due subscriptions (the unit of locking), then
  optionally invoice its pending lines; the result lists what was synced and every terminal failure;
- ``subsync.enqueue_due_customers`` — the periodic job's selection, one ``reconcile_customer`` message
  per customer (what ``celery beat`` runs every ``SUBSYNC_BEAT_INTERVAL``);
- ``subsync.invoice_customer`` — invoice a customer's pending lines under its lock.

All are acknowledged late and rejected back to the queue when their worker process dies
(``task_reject_on_worker_lost``); all are idempotent, so a second delivery re-syncs (level-based).
A transient error (``subsync.worker.transient``) is retried with exponential backoff; any other error
with a ``subsync.errors`` category is terminal: reported in the result and the log, never retried.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import structlog
from celery import Task

from subsync.errors import category_of
from subsync.job import SubscriptionFailure
from subsync.worker import customer as customer_work
from subsync.worker.app import app
from subsync.worker.config import ENQUEUE_DUE_CUSTOMERS, INVOICE_CUSTOMER, RECONCILE_CUSTOMER
from subsync.worker.context import WorkerContext, current_context
from subsync.worker.enqueue import enqueue_due, sender
from subsync.worker.transient import backoff_seconds, is_transient

log = structlog.get_logger(__name__)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _retry(task: Task, exc: BaseException, context: WorkerContext) -> BaseException:
    """Retry ``task`` after a transient error, waiting longer each time (the Retry to raise)."""
    settings = context.worker_settings
    retries = task.request.retries or 0
    countdown = backoff_seconds(retries, base=settings.seconds("retry_backoff"),
                                maximum=settings.seconds("retry_backoff_max"))
    log.warning("worker.transient_error", task=task.name, retries=retries, countdown=round(countdown, 2),
                error_type=type(exc).__name__, error=_one_line(str(exc))[:500])
    return task.retry(exc=exc, countdown=countdown, max_retries=settings.task_max_retries, throw=False)


def _started(task: Task, **fields: Any) -> None:
    delivery = task.request.delivery_info or {}
    log.info("worker.task_started", task=task.name, task_id=task.request.id, pid=os.getpid(),
             retries=task.request.retries or 0, redelivered=bool(delivery.get("redelivered")), **fields)


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"as_of must carry a UTC offset, got {text!r}")
    return value.astimezone(dt.timezone.utc)


@app.task(bind=True, name=RECONCILE_CUSTOMER)
def reconcile_customer(
    self: Task,
    namespace: str,
    customer_id: str,
    subscription_ids: list[str] | None = None,
    as_of: str | None = None,
    force: bool = False,
    synced_since: str | None = None,
    lookback: float | None = None,
    invoice: bool = False,
) -> dict[str, Any]:
    """Sync one customer's due subscriptions (see ``subsync.worker.customer``)."""
    request = customer_work.CustomerRequest(
        namespace=namespace, customer_id=customer_id,
        subscription_ids=tuple(subscription_ids) if subscription_ids is not None else None,
        as_of=_instant(as_of), force=force, synced_since=_instant(synced_since),
        lookback=dt.timedelta(seconds=lookback) if lookback is not None else None, invoice=invoice,
    )
    context = current_context()
    with structlog.contextvars.bound_contextvars(task_id=self.request.id, namespace=namespace, customer_id=customer_id):
        _started(self, subscriptions=len(subscription_ids) if subscription_ids is not None else None, force=force)
        store = context.store(request.as_of)
        service = context.service(store)
        try:
            result = customer_work.reconcile_customer(request, store=store, service=service)
            if request.invoice:
                try:
                    result.invoices = customer_work.invoice_customer(store, service, namespace, customer_id)
                except Exception as exc:
                    if is_transient(exc) or category_of(exc) is None:
                        raise
                    result.fail(SubscriptionFailure(namespace, None, customer_id, exc, stage="invoice"))
        except Exception as exc:
            if is_transient(exc):
                raise _retry(self, exc, context) from exc
            raise
        log.info("worker.task_finished", task=self.name, pid=os.getpid(), synced=len(result.synced),
                 unchanged=result.unchanged, skipped=result.skipped, not_due=result.not_due,
                 failed=len(result.failed), invoices=len(result.invoices))
        return result.model_dump(mode="json")


@app.task(bind=True, name=ENQUEUE_DUE_CUSTOMERS)
def enqueue_due_customers(
    self: Task,
    as_of: str | None = None,
    namespaces: list[str] | None = None,
    customers: list[str] | None = None,
    lookback: float | None = None,
    force: bool = False,
    limit: int | None = None,
    invoice: bool = False,
) -> dict[str, Any]:
    """The periodic job's selection as one ``reconcile_customer`` message per customer (beat runs it)."""
    context = current_context()
    when = _instant(as_of)
    with structlog.contextvars.bound_contextvars(task_id=self.request.id):
        _started(self)
        store = context.store(when)
        try:
            summary = enqueue_due(
                store, send=sender(self.app, context.worker_settings.queue), settings=context.settings,
                namespaces=namespaces, customers=customers,
                lookback=dt.timedelta(seconds=lookback) if lookback is not None else None, force=force,
                limit=limit, as_of=when, invoice=invoice,
            )
        except Exception as exc:
            if is_transient(exc):
                raise _retry(self, exc, context) from exc
            raise
        return summary.as_dict()


@app.task(bind=True, name=INVOICE_CUSTOMER)
def invoice_customer(self: Task, namespace: str, customer_id: str, as_of: str | None = None) -> dict[str, Any]:
    """Invoice the customer's pending lines under its lock; terminal errors are reported, not raised."""
    context = current_context()
    with structlog.contextvars.bound_contextvars(task_id=self.request.id, namespace=namespace, customer_id=customer_id):
        _started(self)
        store = context.store(_instant(as_of))
        service = context.service(store)
        try:
            invoices = customer_work.invoice_customer(store, service, namespace, customer_id)
        except Exception as exc:
            if is_transient(exc):
                raise _retry(self, exc, context) from exc
            failure = SubscriptionFailure(namespace, None, customer_id, exc, stage="invoice")
            if category_of(exc) is None:
                raise
            log.error("worker.invoice_failed", error_type=failure.category, error=failure.message)
            return {"namespace": namespace, "customer_id": customer_id, "invoices": [],
                    "failed": [failure.as_dict()]}
        return {"namespace": namespace, "customer_id": customer_id, "invoices": invoices, "failed": []}


__all__ = ["enqueue_due_customers", "invoice_customer", "reconcile_customer"]
