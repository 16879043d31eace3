"""The database connection is lost in the middle of apply: nothing is partially written, and the task's
retry converges.

The sync runs as the ``reconcile_customer`` task (eagerly, so its retry runs at once). Its plan has
several apply units (a new line, the draft invoice, the gathering invoice, an issue on the paid
invoice, the split-line group); apply is paused right after it has written the draft invoice:

- PostgreSQL: a second connection ends the sync's own backend (``pg_terminate_backend``), so the
  sync's next statement finds its connection gone;
- SQLite: the next write raises the driver's ``OperationalError: database is locked``.

Either error is transient (``subsync.worker.transient``): the task retries. When the retry starts, every
table is exactly as before the first attempt; the retry applies the whole plan, and a further sync
plans nothing.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import structlog
from sqlalchemy import create_engine, exc as sa_exc, text

from billing.service import BillingService
from billing.store import Store
from subsync.sync import SyncService
from subsync.worker.context import WorkerContext, use_context
from subsync.worker.tasks import reconcile_customer
from tests.sync.stores import table_dump
from tests.sync.world import CUSTOMER, NAMESPACE, SUBSCRIPTION, World, replace_items_at_0115, split_world

PAUSE_AFTER = "update_standard_invoice"  # the second of five apply units


def drop_the_connection(task_store: Store, admin_url: str | None) -> None:
    """Called while apply is paused inside the sync transaction."""
    session = task_store.current.session
    if admin_url is None:  # SQLite: the driver reports the database as locked on the next write
        raise sa_exc.OperationalError("UPDATE invoices SET …", {}, sqlite3.OperationalError("database is locked"))
    backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar_one()
    finally:
        admin.dispose()


def test_a_connection_lost_in_the_middle_of_apply_writes_nothing_and_the_retry_converges(store, database, clock):
    url, _schema = database
    postgres = store.engine.dialect.name == "postgresql"
    world = split_world(lambda setup_=None, **kwargs: World(store, clock, setup_, **kwargs))
    replace_items_at_0115(world)
    before = table_dump(store)
    attempts: list[dict[str, Any]] = []
    dropped: list[str] = []

    def service_factory(task_store: Store, settings: Any) -> SyncService:
        attempts.append(table_dump(store))  # what each attempt of the task starts from
        billing = BillingService(task_store)
        write = getattr(billing, PAUSE_AFTER)

        def write_then_lose_the_connection(*args: Any, **kwargs: Any) -> Any:
            written = write(*args, **kwargs)
            if not dropped:
                dropped.append(PAUSE_AFTER)
                drop_the_connection(task_store, url if postgres else None)
            return written

        setattr(billing, PAUSE_AFTER, write_then_lose_the_connection)
        return SyncService.for_store(task_store, settings=settings, billing=billing)

    context = WorkerContext(database_url=url, engine=store.engine, service_factory=service_factory)
    with use_context(context), structlog.testing.capture_logs() as logs:
        outcome = reconcile_customer.apply(kwargs={
            "namespace": NAMESPACE, "customer_id": CUSTOMER, "as_of": clock.now().isoformat(), "force": True})

    assert dropped == [PAUSE_AFTER]
    transient = [event for event in logs if event["event"] == "worker.transient_error"]
    assert len(transient) == 1 and transient[0]["error_type"] == "OperationalError", logs
    assert transient[0]["retries"] == 0 and transient[0]["countdown"] > 0
    # Nothing of the first attempt was committed: the retry started from the very same tables.
    assert len(attempts) == 2
    assert attempts[0] == before
    assert attempts[1] == before
    # The retry applied the plan and converged.
    assert outcome.successful(), outcome.result
    assert outcome.get()["synced"] == [SUBSCRIPTION] and outcome.get()["failed"] == []
    assert table_dump(store) != before
    assert world.sync().plan.is_empty

