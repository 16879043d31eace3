"""The tasks and the enqueue selection, run eagerly in this process on the store fixture.

- ``enqueue_due`` sends exactly the subscriptions ``subsync reconcile`` would sync, grouped by customer;
- a delivery of the same ``reconcile_customer`` message twice does the work once (level-based);
- integrity errors are terminal: reported in the result and the log, never retried, and the customer's
  other subscriptions are still synced;
- transient errors are retried with backoff until ``SUBSYNC_TASK_MAX_RETRIES`` runs out;
- ``invoice=True`` invoices the customer's pending lines once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
import structlog
from sqlalchemy import exc as sa_exc

from billing.sync_state import SubscriptionRef
from billing.sync_state_store import SyncStateStore
from reconciler.settings import SyncSettings
from subsync.job import ReconcileJob
from subsync.sync import SyncService
from subsync.worker.config import WorkerSettings
from subsync.worker.context import WorkerContext, use_context
from subsync.worker.enqueue import customer_batches, enqueue_due
from subsync.worker.tasks import invoice_customer, reconcile_customer
from tests.job.stores import NAMESPACE, invert_a_line_period, seed

UTC = dt.timezone.utc
AT = dt.datetime(2024, 1, 20, tzinfo=UTC)
PER_CUSTOMER = 5


@pytest.fixture
def seeded(store, clock):  # type: ignore[no-untyped-def]
    clock.set(AT)
    return seed(store, 15, per_customer=PER_CUSTOMER)  # customers cus-00000 … cus-00002


def run_task(store: Any, task: Any = reconcile_customer, worker_settings: WorkerSettings | None = None,
             service_factory: Any = None, settings: SyncSettings | None = None, **kwargs: Any) -> Any:
    context = WorkerContext(database_url=store.url, engine=store.engine, worker_settings=worker_settings,
                            settings=settings, **({"service_factory": service_factory} if service_factory else {}))
    arguments = {"as_of": AT.isoformat(), **kwargs}
    if task.name != "subsync.enqueue_due_customers":
        arguments.setdefault("namespace", NAMESPACE)
    with use_context(context):
        return task.apply(kwargs=arguments)


def collect() -> tuple[list[dict[str, Any]], Any]:
    sent: list[dict[str, Any]] = []

    def send(kwargs: dict[str, Any]) -> str:
        sent.append(kwargs)
        return f"task-{len(sent)}"

    return sent, send


# -- enqueue ---------------------------------------------------------------------------------------------

def test_enqueue_sends_what_reconcile_would_sync_one_message_per_customer(store, clock, seeded):
    # Sync a few first: they are then not due and must not be sent.
    service = SyncService.for_store(store)
    for subscription_id in seeded[:3] + seeded[7:8]:
        service.sync_by_id(NAMESPACE, subscription_id, AT)
    expected = [listed.subscription_id for listed in ReconcileJob.for_store(store).selected(now=AT)]
    assert len(expected) == 11

    sent, send = collect()
    summary = enqueue_due(store, send=send, as_of=AT)

    assert [message["customer_id"] for message in sent] == ["cus-00000", "cus-00001", "cus-00002"]
    assert [s for message in sent for s in message["subscription_ids"]] == expected
    assert (summary.customers, summary.subscriptions, summary.task_ids) == (3, 11, ["task-1", "task-2", "task-3"])
    assert all(message["as_of"] == AT.isoformat() and message["force"] is False and message["synced_since"] is None
               for message in sent)


def test_enqueue_with_force_limit_and_customer_filters(store, clock, seeded):
    sent, send = collect()
    enqueue_due(store, send=send, as_of=AT, customers=["cus-00001"], force=True)
    assert [(m["customer_id"], len(m["subscription_ids"]), m["force"]) for m in sent] == [("cus-00001", 5, True)]

    sent, send = collect()
    enqueue_due(store, send=send, as_of=AT, limit=7)
    assert [len(m["subscription_ids"]) for m in sent] == [5, 2]

    sent, send = collect()
    enqueue_due(store, send=send, force=True)  # a wall-clock forced run: tasks skip what they did since
    assert {m["synced_since"] for m in sent} == {AT.isoformat()} and {m["as_of"] for m in sent} == {None}


def test_customer_batches_hold_a_bounded_number_of_subscriptions(store, clock, seeded):
    selected = list(ReconcileJob.for_store(store).selected(now=AT))
    batches = list(customer_batches(selected, flush_every=4))
    assert max(len(batch.subscription_ids) for batch in batches) <= 4
    assert [s for batch in batches for s in batch.subscription_ids] == [listed.subscription_id for listed in selected]
    assert len(list(customer_batches(selected))) == 3
    with pytest.raises(ValueError):
        list(customer_batches(selected, flush_every=0))


# -- reconcile_customer ------------------------------------------------------------------------------------

def test_the_same_message_delivered_twice_does_the_work_once(store, clock, seeded):
    ids = seeded[:PER_CUSTOMER]
    first = run_task(store, customer_id="cus-00000", subscription_ids=ids).get()
    again = run_task(store, customer_id="cus-00000", subscription_ids=ids).get()

    assert first["synced"] == ids and first["failed"] == []
    assert (again["synced"], again["unchanged"], again["not_due"]) == ([], 0, PER_CUSTOMER)
    states = SyncStateStore(store).get_many([SubscriptionRef(namespace=NAMESPACE, subscription_id=s) for s in ids])
    assert {state.synced_at for state in states.values()} == {AT} and len(states) == PER_CUSTOMER


def test_a_forced_message_delivered_again_plans_nothing_or_skips_what_it_did_since(store, clock, seeded):
    ids = seeded[:PER_CUSTOMER]
    run_task(store, customer_id="cus-00000", subscription_ids=ids)
    forced = run_task(store, customer_id="cus-00000", subscription_ids=ids, force=True).get()
    assert (forced["synced"], forced["unchanged"], forced["failed"]) == ([], PER_CUSTOMER, [])
    since = run_task(store, customer_id="cus-00000", subscription_ids=ids, force=True,
                     synced_since=AT.isoformat()).get()
    assert (since["unchanged"], since["not_due"]) == (0, PER_CUSTOMER)


def test_without_ids_the_task_lists_the_customers_subscriptions_itself(store, clock, seeded):
    result = run_task(store, customer_id="cus-00002").get()
    assert result["synced"] == seeded[10:15]


def test_an_integrity_error_is_reported_not_retried_and_the_other_subscriptions_sync(store, clock, seeded):
    ids = seeded[:PER_CUSTOMER]
    broken = ids[2]
    SyncService.for_store(store).sync_by_id(NAMESPACE, broken, AT)
    invert_a_line_period(store, broken)  # a persisted line now ends before it starts
    SyncStateStore(store).invalidate(SubscriptionRef(namespace=NAMESPACE, subscription_id=broken))

    with structlog.testing.capture_logs() as logs:
        outcome = run_task(store, customer_id="cus-00000", subscription_ids=ids)

    result = outcome.get()
    assert outcome.successful()
    assert result["synced"] == [s for s in ids if s != broken]
    assert [(f["subscription_id"], f["category"]) for f in result["failed"]] == [(broken, "IntegrityError")]
    assert "ends before it starts" in result["failed"][0]["message"]
    events = Counter(event["event"] for event in logs)
    assert events["worker.subscription_failed"] == 1 and events["worker.transient_error"] == 0
    assert SyncStateStore(store).get(SubscriptionRef(namespace=NAMESPACE, subscription_id=broken)) is None


def test_a_missing_subscription_is_reported_as_not_found(store, clock, seeded):
    result = run_task(store, customer_id="cus-00000", subscription_ids=[seeded[0], "sub-gone"]).get()
    assert result["synced"] == [seeded[0]]
    assert [(f["subscription_id"], f["category"]) for f in result["failed"]] == [("sub-gone", "NotFoundError")]


def test_transient_errors_are_retried_with_backoff_until_the_retries_run_out(store, clock, seeded):
    attempts: list[int] = []

    class Terminated(Exception):
        sqlstate = "57P01"

    def failing_service(task_store: Any, settings: Any) -> SyncService:
        service = SyncService.for_store(task_store, settings=settings)

        def sync_by_id(*args: Any, **kwargs: Any) -> Any:
            attempts.append(1)
            raise sa_exc.OperationalError("SELECT … FOR UPDATE", {}, Terminated("terminating connection"))

        service.sync_by_id = sync_by_id  # type: ignore[method-assign]
        return service

    settings = WorkerSettings(task_max_retries=2, retry_backoff="1s", retry_backoff_max="3s")
    with structlog.testing.capture_logs() as logs:
        outcome = run_task(store, customer_id="cus-00000", subscription_ids=seeded[:1], worker_settings=settings,
                           service_factory=failing_service)

    assert outcome.failed() and "terminating connection" in str(outcome.result)  # the last error, as the result
    assert len(attempts) == 3  # the first attempt and two retries
    retries = [event for event in logs if event["event"] == "worker.transient_error"]
    assert [event["retries"] for event in retries] == [0, 1, 2]
    assert 0.5 <= retries[0]["countdown"] <= 1 and 1 <= retries[1]["countdown"] <= 2
    assert 1.5 <= retries[2]["countdown"] <= 3
    assert SyncStateStore(store).get(SubscriptionRef(namespace=NAMESPACE, subscription_id=seeded[0])) is None


def test_invoicing_after_the_syncs_happens_once(store, clock, seeded):
    ids = seeded[:PER_CUSTOMER]
    first = run_task(store, customer_id="cus-00000", subscription_ids=ids, invoice=True).get()
    again = run_task(store, customer_id="cus-00000", subscription_ids=ids, invoice=True).get()
    alone = run_task(store, task=invoice_customer, customer_id="cus-00000").get()

    assert len(first["invoices"]) == 1 and first["failed"] == []
    assert again["invoices"] == [] and alone == {"namespace": NAMESPACE, "customer_id": "cus-00000",
                                                  "invoices": [], "failed": []}


def test_with_credits_enabled_the_worker_syncs_through_the_charges_port(store, clock, seeded):
    ids = seeded[:PER_CUSTOMER]
    result = run_task(store, customer_id="cus-00000", subscription_ids=ids,
                      settings=SyncSettings(credits_enabled=True)).get()
    assert result["failed"] == [] and result["synced"] == ids
    assert run_task(store, customer_id="cus-00000", subscription_ids=ids, force=True,
                    settings=SyncSettings(credits_enabled=True)).get()["unchanged"] == PER_CUSTOMER


def test_the_beat_task_enqueues_the_due_customers_like_enqueue(store, clock, seeded, monkeypatch):
    import subsync.worker.tasks as tasks

    sent, send = collect()
    queues: list[str] = []

    def sender(app: Any, queue: str) -> Any:
        queues.append(queue)
        return send

    monkeypatch.setattr(tasks, "sender", sender)
    SyncService.for_store(store).sync_by_id(NAMESPACE, seeded[0], AT)
    summary = run_task(store, task=tasks.enqueue_due_customers, limit=6,
                       worker_settings=WorkerSettings(queue="billing")).get()

    assert summary == {"now": "2024-01-20T00:00:00Z", "force": False, "tasks": 2, "customers": 2, "subscriptions": 6}
    assert queues == ["billing"]
    assert [(m["customer_id"], m["subscription_ids"]) for m in sent] == [("cus-00000", seeded[1:5]),
                                                                         ("cus-00001", seeded[5:7])]
