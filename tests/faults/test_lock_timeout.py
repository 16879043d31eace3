"""A customer lock held too long (a stuck worker, a long manual transaction) is a transient error.

Another connection holds the customer's lock row (``SELECT … FOR UPDATE`` in an open transaction). The
task's connections carry ``lock_timeout`` (``SUBSYNC_LOCK_TIMEOUT``, here 1 s), so its wait ends with
``lock_not_available`` instead of blocking the worker process: the task rolls back and retries with
backoff. The holder lets go before the retry, which then syncs the subscription. PostgreSQL only (on
SQLite the lock is the database write lock, with its own busy time-out).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import structlog
from sqlalchemy import text

from billing.store import Store
from subsync.sync import SyncService
from subsync.worker.config import WorkerSettings
from subsync.worker.context import WorkerContext, create_worker_engine, use_context
from subsync.worker.tasks import reconcile_customer
from tests.sync.world import CUSTOMER, NAMESPACE, SUBSCRIPTION, World

UTC = dt.timezone.utc
AT = dt.datetime(2024, 1, 15, tzinfo=UTC)


@pytest.mark.postgres
def test_a_lock_held_past_the_lock_timeout_is_retried_and_then_syncs(pg_schema):
    store = pg_schema.store(AT)
    world = World(store, store.clock)
    holder = pg_schema.admin.connect().execution_options(isolation_level="READ COMMITTED")  # not autocommit
    holding = holder.begin()
    holder.execute(text(f'SET search_path TO "{pg_schema.schema}"'))
    holder.execute(text("INSERT INTO billing_customer_locks (namespace, customer_id) VALUES (:ns, :customer) "
                        "ON CONFLICT DO NOTHING"), {"ns": NAMESPACE, "customer": CUSTOMER})
    holder.execute(text("SELECT 1 FROM billing_customer_locks WHERE namespace = :ns AND customer_id = :customer "
                        "FOR UPDATE"), {"ns": NAMESPACE, "customer": CUSTOMER})
    attempts: list[int] = []

    def service_factory(task_store: Store, settings: Any) -> SyncService:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 2 and holding.is_active:
            holding.commit()  # the stuck holder finally lets go, before the retry runs
        return SyncService.for_store(task_store, settings=settings)

    settings = WorkerSettings(lock_timeout="1s", task_max_retries=3)
    engine = create_worker_engine(pg_schema.schema_url, lock_timeout=dt.timedelta(seconds=1))
    context = WorkerContext(database_url=pg_schema.schema_url, engine=engine, worker_settings=settings,
                            service_factory=service_factory)
    # Should lock_timeout not apply, the task would wait for the holder: let go after a while, so that the
    # test fails (no transient error, one attempt) instead of hanging.
    safety = threading.Timer(30, lambda: holding.is_active and holding.rollback())
    safety.start()
    try:
        with use_context(context), structlog.testing.capture_logs() as logs:
            outcome = reconcile_customer.apply(kwargs={"namespace": NAMESPACE, "customer_id": CUSTOMER,
                                                       "as_of": AT.isoformat()})
    finally:
        safety.cancel()
        if holding.is_active:
            holding.rollback()
        holder.close()
        engine.dispose()

    transient = [event for event in logs if event["event"] == "worker.transient_error"]
    assert len(transient) == 1 and "lock timeout" in transient[0]["error"], transient
    assert attempts == [1, 2]
    assert outcome.successful() and outcome.get()["synced"] == [SUBSCRIPTION]
    assert world.live_lines() and world.sync().plan.is_empty
    store.dispose()
