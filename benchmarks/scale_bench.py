"""Scale benchmark (issue 7): N subscriptions on PostgreSQL, a full pass in-process and with 2 Celery workers.

For each N, two fresh PostgreSQL schemas get the same N subscriptions (ten per customer; a monthly fee
billed in advance and metered API usage, started 2024-01-01), and four passes run at 2024-01-20:

1. **writing, in-process** (first schema): ``ReconcileJob.run()`` syncs every subscription (all new);
2. **no-op, in-process**: a forced ``ReconcileJob.run(force=True)``, every plan empty — the "mostly no-op
   pass" of the target (the job's unlocked, batch-loaded pre-planning does the work);
3. **writing, Celery** (second schema): the same first sync as ``subsync enqueue``, through a pool of
   ``--concurrency`` worker processes (``celery -A subsync.worker.app worker``), one task per customer;
4. **no-op, Celery**: the forced pass as ``subsync enqueue --all`` through the pool.

The planner statistics are kept fresh as autovacuum would on a live database (the development server
has autovacuum off): ``ANALYZE`` every 10 s while a writing pass runs and once after it. Printed per
pass: total seconds (enqueue to the last result, for Celery), ms per subscription, the
speed-up of the Celery pass over the same kind of in-process pass, and the peak RSS of every process
that ran it (in-process passes run in a child process of their own; for Celery the worker's main
process and each pool process, read from ``/proc/<pid>/status`` VmHWM). Each pass checks its outcome
(every subscription synced, or every one unchanged) before its time counts.

    .venv/bin/python benchmarks/scale_bench.py                 # N = 100 000
    .venv/bin/python benchmarks/scale_bench.py --n 1000 10000  # two sizes: is RSS flat in N?
    .venv/bin/python benchmarks/scale_bench.py --n 100000 --passes noop-inprocess   # the 5-minute target

Needs PostgreSQL (``SUBSYNC_TEST_DATABASE_URL``, else postgres@127.0.0.1:5432/test) and Redis
(``--broker``, a database number of its own, flushed before and after). Targets: the in-process no-op
pass over 100 000 subscriptions ≤ 5 min; RSS < 300 MB per process and flat in N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UTC = dt.timezone.utc
FIRST = dt.datetime(2024, 1, 20, tzinfo=UTC)
DEFAULT_BROKER = "redis://127.0.0.1:6379/12"
PASSES = ("writing-inprocess", "noop-inprocess", "writing-celery", "noop-celery")
RESULT_TIMEOUT = 6 * 3600


def _inprocess(url: str, schema: str, kind: str) -> dict[str, Any]:
    """One in-process pass (run in a child process, so its peak RSS is the pass's own)."""
    from billing.clock import FrozenClock
    from billing.store import Store
    from subsync.job import ReconcileJob
    from subsync.logging import configure_logging

    configure_logging("ERROR")
    store = Store(url, clock=FrozenClock(FIRST), schema=schema)
    try:
        job = ReconcileJob.for_store(store)
        started = time.perf_counter()
        report = job.run(force=kind == "noop")
        seconds = time.perf_counter() - started
    finally:
        store.dispose()
    expected = report.synced if kind == "writing" else report.unchanged
    if not report.ok or expected != report.listed:
        raise SystemExit(f"{kind} in-process pass did not do what it should: {report.summary_line()}")
    return {"seconds": seconds, "rss_mb": {"job": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}


def _celery(url: str, schema: str, broker: str, kind: str, count: int, concurrency: int) -> dict[str, Any]:
    """One pass through a fresh worker pool; the pool's processes are measured before it stops."""
    from billing.clock import FrozenClock
    from billing.store import Store
    from celery.result import ResultSet
    from subsync.worker.app import make_app
    from subsync.worker.config import WorkerSettings
    from subsync.worker.enqueue import enqueue_due, sender
    from tests.worker.pool import WorkerPool, peak_rss_mb
    from tests.worker.services import with_search_path

    at = FIRST
    queue = f"scale-bench-{uuid.uuid4().hex[:8]}"
    producer = make_app(WorkerSettings(broker_url=broker, queue=queue))
    store = Store(url, clock=FrozenClock(at), schema=schema)
    log_path = Path(tempfile.mkdtemp(prefix="subsync-scale-")) / "worker.log"
    pool = WorkerPool(broker_url=broker, database_url=with_search_path(url, schema), queue=queue, log_path=log_path,
                      concurrency=concurrency, extra_env={"SUBSYNC_TASK_LOG_LEVEL": "ERROR"})
    try:
        pool.start()  # quiet tasks (ERROR), as the in-process job runs: one Celery line per task
        started = time.perf_counter()
        summary = enqueue_due(store, send=sender(producer, queue), as_of=at, force=kind == "noop")
        results = ResultSet([producer.AsyncResult(task_id) for task_id in summary.task_ids], app=producer)
        values = results.join(timeout=RESULT_TIMEOUT, propagate=True, interval=0.5)
        seconds = time.perf_counter() - started
        rss = {"worker main": peak_rss_mb(pool.pid)}
        rss.update({f"pool process {index + 1}": peak_rss_mb(pid) for index, pid in enumerate(pool.children())})
    finally:
        pool.stop()
        store.dispose()
    failed = [failure for value in values for failure in value["failed"]]
    done = sum(len(v["synced"]) for v in values) if kind == "writing" else sum(v["unchanged"] for v in values)
    if failed or done != count:
        raise SystemExit(f"{kind} Celery pass: {done} of {count} done, failures: {failed[:3]}")
    return {"seconds": seconds, "rss_mb": rss, "tasks": len(summary.task_ids)}


def _pass(name: str, count: int, url: str, schema: str, broker: str, concurrency: int) -> dict[str, Any]:
    from tests.worker.services import flush_redis

    kind, where = name.split("-")
    began = time.perf_counter()
    if where == "inprocess":
        child = subprocess.run([sys.executable, __file__, "--child", url, schema, kind], capture_output=True,
                               text=True, check=False)
        if child.returncode != 0:
            raise SystemExit(f"{name} failed:\n{child.stderr[-3000:]}")
        row = json.loads(child.stdout.strip().splitlines()[-1])
    else:
        flush_redis(broker)
        row = _celery(url, schema, broker, kind, count, concurrency)
        flush_redis(broker)
    row.update(n=count, kind=kind, where=where, workers=1 if where == "inprocess" else concurrency)
    print(f"N={count}: {name} {row['seconds']:.1f} s (wall {time.perf_counter() - began:.0f} s)", file=sys.stderr,
          flush=True)
    return row


def _analyze(url: str, schema: str) -> None:
    """Refresh the query planner's statistics, as autovacuum does on a live database (the test server
    has it off; without statistics PostgreSQL scans whole tables for the chunk loads)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()


class _Autovacuum:
    """What autovacuum does on a live database, which the development server has off: ``ANALYZE``
    every ``interval`` seconds, from a thread of the benchmark's own process, while a pass writes."""

    def __init__(self, url: str, schema: str, interval: float = 10.0) -> None:
        import threading

        self.url, self.schema, self.interval = url, schema, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            _analyze(self.url, self.schema)

    def __enter__(self) -> "_Autovacuum":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def measure(count: int, url: str, broker: str, passes: list[str], concurrency: int) -> list[dict[str, Any]]:
    """Each way of running (in-process, Celery) gets its own, identically seeded schema, so both writing
    passes do the same work; a no-op pass needs converged subscriptions: without its writing pass, the
    pool syncs them first (not reported)."""
    from tests.worker.services import create_schema, drop_schema, redis_problem
    from tests.worker.seeding import seed_many

    problem = redis_problem(broker)  # the pool also converges the subscriptions of a no-op-only run
    if problem:
        raise SystemExit(problem)
    rows = []
    for where in ("inprocess", "celery"):
        wanted = [kind for kind in ("writing", "noop") if f"{kind}-{where}" in passes]
        if not wanted:
            continue
        fresh = create_schema(url)
        try:
            store = fresh.store(FIRST)
            began = time.perf_counter()
            seed_many(store, count)
            store.dispose()
            print(f"N={count}: seeded in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
            with _Autovacuum(url, fresh.schema):
                if "writing" in wanted:
                    rows.append(_pass(f"writing-{where}", count, url, fresh.schema, broker, concurrency))
                else:  # the no-op pass needs converged subscriptions: sync them first, the fastest way
                    _pass("writing-celery", count, url, fresh.schema, broker, concurrency)
            _analyze(url, fresh.schema)
            if "noop" in wanted:
                rows.append(_pass(f"noop-{where}", count, url, fresh.schema, broker, concurrency))
        finally:
            drop_schema(fresh)
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    inprocess = {(row["n"], row["kind"]): row["seconds"] for row in rows if row["where"] == "inprocess"}
    header = ["N", "pass", "processes", "total s", "ms/sub", "speed-up", "peak RSS MB per process"]
    body = []
    for row in rows:
        baseline = inprocess.get((row["n"], row["kind"]))
        speedup = f"{baseline / row['seconds']:.2f}x" if row["where"] == "celery" and baseline else "-"
        rss = ", ".join(f"{name} {mb:.0f}" for name, mb in row["rss_mb"].items() if mb is not None)
        body.append([f"{row['n']:,}", f"{row['kind']} {row['where']}", str(row["workers"]), f"{row['seconds']:.1f}",
                     f"{row['seconds'] / row['n'] * 1000:.2f}", speedup, rss])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in [header, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000], help="subscriptions (default 100 000)")
    parser.add_argument("--passes", nargs="+", choices=PASSES, default=list(PASSES))
    parser.add_argument("--concurrency", type=int, default=2, help="Celery pool processes (default 2)")
    parser.add_argument("--url", default=os.environ.get("SUBSYNC_TEST_DATABASE_URL")
                        or "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--broker", default=DEFAULT_BROKER, help=f"Redis URL (default {DEFAULT_BROKER})")
    parser.add_argument("--child", nargs=3, metavar=("URL", "SCHEMA", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, schema, kind = args.child
        print(json.dumps(_inprocess(url, schema, kind)))
        return
    rows = []
    for count in args.n:
        rows.extend(measure(count, args.url, args.broker, args.passes, args.concurrency))
    print(_table(rows))
    print("targets: no-op in-process pass over 100 000 subscriptions <= 300 s; RSS < 300 MB per process, flat in N")


if __name__ == "__main__":
    main()
