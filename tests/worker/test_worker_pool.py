"""A real Redis-backed Celery worker pool (2 processes) against PostgreSQL, on loopback.

Size (``SUBSYNC_SCALE``): ``ci`` runs 2 000 subscriptions across 200 customers in one run; ``full`` the
same in two runs; a local run without it 200 across 20 in two runs. Each subscription has a monthly fee
billed in advance and metered usage. The pool is ``celery -A subsync.worker.app worker --concurrency 2``
in a subprocess, on a Redis database and a PostgreSQL schema of the test's own.

Each run (as of 2024-01-20, where every subscription is new; then 2024-02-20, a month on, where every
one is due again): ``enqueue_due`` sends one task per customer. Once about a third of the run has
committed, the pool process running a task is killed with SIGKILL. The task's message goes back to the
queue (``acks_late`` + ``task_reject_on_worker_lost``) and is delivered again; the new delivery leaves
the subscriptions the killed one had committed alone (no longer due) and syncs the rest. Then:

- every subscription converged: a forced second pass through the pool plans nothing for any of them,
  and a sample dry-run in this process plans nothing;
- nothing doubled: no identity twice among the live lines, charges and groups; nothing lost: every
  subscription holds the same, growing number of live lines;
- each subscription's sync state was written exactly once in the run (a trigger records every
  committed write of the table), the killed task's customer included.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections import Counter, defaultdict
from typing import Any

import pytest

from subsync.logging import configure_logging
from subsync.sync import SyncOptions, SyncService
from subsync.worker.app import make_app
from subsync.worker.config import WorkerSettings
from subsync.worker.enqueue import enqueue_due, sender
from tests.job.stores import NAMESPACE
from tests.worker.pool import WorkerPool
from tests.worker.seeding import seed_many
from tests.worker.services import FreshSchema, audit_sync_state_writes

log = logging.getLogger(__name__)  # phase timings: pytest --log-cli-level=INFO

UTC = dt.timezone.utc
RUN_1 = dt.datetime(2024, 1, 20, tzinfo=UTC)
RUN_2 = dt.datetime(2024, 2, 20, tzinfo=UTC)
#: (subscriptions, customers, runs): CI keeps the full size but one run, to stay within ~3 minutes.
SIZES = {"ci": (2_000, 200, 1), "full": (2_000, 200, 2)}
LOCAL = (200, 20, 2)
RESULT_TIMEOUT = 900
DRY_RUN_SAMPLE = 25


def scale() -> tuple[int, int, int]:
    """(subscriptions, customers, runs) for this session."""
    return SIZES.get(os.environ.get("SUBSYNC_SCALE", ""), LOCAL)


def wait_for(producer: Any, task_ids: list[str], pool: WorkerPool) -> list[dict[str, Any]]:
    """Every task's result (a ``CustomerResult`` as JSON), in ``task_ids`` order."""
    from celery.result import ResultSet

    results = ResultSet([producer.AsyncResult(task_id) for task_id in task_ids], app=producer)
    try:
        values = results.join(timeout=RESULT_TIMEOUT, propagate=False, interval=0.2)
    except Exception as exc:  # noqa: BLE001 - a time-out: show what the pool was doing
        pytest.fail(f"the pool did not finish: {exc!r}\n{pool.tail()}")
    failures = [value for value in values if not isinstance(value, dict)]
    assert not failures, f"tasks failed: {failures[:3]}\n{pool.tail()}"
    return values


def assert_converged(store: Any, producer: Any, queue: str, pool: WorkerPool, at: dt.datetime, ids: list[str]) -> None:
    """A second sync of every subscription plans nothing: a forced pass through the pool (each task
    reports every subscription unchanged) and, independently, dry runs of a sample in this process."""
    forced = enqueue_due(store, send=sender(producer, queue), as_of=at, force=True)
    assert forced.subscriptions == len(ids)
    results = wait_for(producer, forced.task_ids, pool)
    assert [failure for result in results for failure in result["failed"]] == []
    assert [s for result in results for s in result["synced"]] == []  # no second sync changed anything
    assert sum(result["unchanged"] for result in results) == len(ids)
    service = SyncService.for_store(store)
    for subscription_id in ids[:: max(len(ids) // DRY_RUN_SAMPLE, 1)]:
        plan = service.sync_by_id(NAMESPACE, subscription_id, at, SyncOptions(dry_run=True)).plan
        assert plan is not None and plan.is_empty, f"{subscription_id} still plans {len(plan.patches)} patch(es)"


def assert_nothing_lost_or_doubled(db: FreshSchema, ids: list[str]) -> int:
    """No live identity twice; every subscription holds the same (non-zero) number of live lines.
    Returns that number."""
    for table, column in (("invoice_lines", "child_unique_reference_id"), ("charges", "unique_reference_id"),
                          ("split_line_groups", "unique_reference_id")):
        duplicated = db.execute(
            f"SELECT namespace, {column}, count(*) FROM {table} WHERE deleted_at IS NULL AND {column} IS NOT NULL "
            f"GROUP BY namespace, {column} HAVING count(*) > 1"
        )
        assert duplicated == [], f"{table}: {duplicated[:5]}"
    per_subscription = dict(db.execute(
        "SELECT subscription_id, count(*) FROM invoice_lines WHERE deleted_at IS NULL GROUP BY subscription_id"))
    assert set(per_subscription) == set(ids)
    counts = Counter(per_subscription.values())
    assert len(counts) == 1, f"live lines per subscription differ: {counts}"
    return next(iter(counts))


def sync_state_writes(db: FreshSchema) -> dict[str, Counter[str]]:
    """synced_at → how many committed writes each subscription's sync state got at that time."""
    runs: dict[str, Counter[str]] = defaultdict(Counter)
    for subscription_id, synced_at, writes in db.execute(
            "SELECT subscription_id, synced_at, count(*) FROM sync_state_writes GROUP BY 1, 2"):
        runs[synced_at][subscription_id] += writes
    return runs


def assert_written_once(db: FreshSchema, ids: list[str], runs: int) -> str:
    """Each run wrote every subscription's sync state exactly once; returns the latest run's key."""
    writes = sync_state_writes(db)
    assert len(writes) == runs, sorted(writes)
    latest = max(writes)
    assert writes[latest] == Counter({subscription_id: 1 for subscription_id in ids}), (
        {s: n for s, n in writes[latest].items() if n != 1} or f"{len(writes[latest])} of {len(ids)} written")
    return latest


def kill_mid_run(db: FreshSchema, pool: WorkerPool, count: int, previous_run: str | None) -> tuple[int, str]:
    """Once about a third of the run has committed, SIGKILL a pool process that is inside a task."""
    deadline = time.monotonic() + RESULT_TIMEOUT
    while time.monotonic() < deadline:
        done = db.execute("SELECT count(*) FROM sync_state_writes WHERE synced_at <> :previous",
                          previous=previous_run or "")[0][0]
        assert done < count, "the run finished before a process could be killed"
        busy = pool.busy_process()
        if done >= count // 3 and busy is not None:
            pool.kill(busy[0])
            return busy
        time.sleep(0.05)
    pytest.fail(f"the run made no progress\n{pool.tail()}")


def assert_redelivered(pool: WorkerPool, killed_pid: int, summary: Any, results: list[dict[str, Any]],
                       db: FreshSchema, per_customer: int) -> None:
    """The killed process's task was delivered again and finished its customer; what the killed process
    had committed was no longer due and was left alone."""
    ours = set(summary.task_ids)
    starts: dict[str, list[int]] = {}
    events = pool.events()
    for index, event in enumerate(events):
        if event["event"] == "worker.task_started" and event.get("task_id") in ours:
            starts.setdefault(event["task_id"], []).append(index)
    twice = [task_id for task_id, indexes in starts.items() if len(indexes) > 1]
    assert len(twice) == 1, f"tasks started more than once: {twice}"  # exactly the killed one
    killed_task = twice[0]
    first, second = starts[killed_task]
    assert events[first]["pid"] == killed_pid
    assert events[second]["pid"] != killed_pid and events[second]["redelivered"] is True
    committed_before_kill = sum(1 for e in events[first:second] if e.get("task_id") == killed_task
                                and e["event"] == "worker.subscription_done" and e["outcome"] == "synced")
    redelivered = results[summary.task_ids.index(killed_task)]
    # (a process killed between its commit and its log line committed one more than it logged)
    assert redelivered["not_due"] in (committed_before_kill, committed_before_kill + 1)
    assert len(redelivered["synced"]) + redelivered["not_due"] == per_customer
    synced = [subscription for result in results for subscription in result["synced"]]
    assert len(synced) == len(set(synced))
    customer_subscriptions = {row[0] for row in db.execute(
        "SELECT id FROM subscriptions WHERE customer_id = :customer", customer=redelivered["customer_id"])}
    assert len(customer_subscriptions - set(synced)) == redelivered["not_due"]  # what the killed one committed


@pytest.mark.slow
def test_a_pool_of_two_processes_converges_though_a_process_is_killed_and_loses_and_doubles_nothing(
    broker_url, queue, pg_schema, tmp_path
):
    count, customers, runs = scale()
    per_customer = count // customers
    configure_logging("WARNING")
    started = time.monotonic()

    def phase(name: str) -> None:
        log.info("%s done after %.1f s (%d subscriptions, %d customers)", name, time.monotonic() - started, count,
                 customers)

    store = pg_schema.store(RUN_1)
    ids = seed_many(store, count, per_customer=per_customer)
    phase("seeding")
    audit_sync_state_writes(pg_schema)
    producer = make_app(WorkerSettings(broker_url=broker_url, queue=queue))
    pool = WorkerPool(broker_url=broker_url, database_url=pg_schema.schema_url, queue=queue,
                      log_path=tmp_path / "worker.log", concurrency=2)
    try:
        pool.start()
        assert len(pool.children()) == 2
        phase("worker start")
        previous_run, lines = None, 0
        for number, run_at in enumerate((RUN_1, RUN_2)[:runs], start=1):
            # Every subscription is due: new in run 1; its period has ended by run 2, a month on.
            summary = enqueue_due(store, send=sender(producer, queue), as_of=run_at)
            assert (summary.customers, summary.subscriptions, len(summary.task_ids)) == (customers, count, customers)
            killed_pid, _task = kill_mid_run(pg_schema, pool, count, previous_run)
            results = wait_for(producer, summary.task_ids, pool)
            phase(f"run {number} (a process killed)")
            assert [failure for result in results for failure in result["failed"]] == []
            assert killed_pid not in pool.children() and len(pool.children()) == 2  # the pool replaced it
            assert_redelivered(pool, killed_pid, summary, results, pg_schema, per_customer)
            previous_run = assert_written_once(pg_schema, ids, runs=number)
            assert_converged(store, producer, queue, pool, run_at, ids)
            lines, previous_lines = assert_nothing_lost_or_doubled(pg_schema, ids), lines
            assert lines > previous_lines
            assert_written_once(pg_schema, ids, runs=number)  # the forced pass planned nothing, wrote nothing
            phase(f"run {number} verified")
    finally:
        pool.stop()
        store.dispose()
