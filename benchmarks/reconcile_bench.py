"""Benchmark of the periodic job (``subsync reconcile``) over N generated subscriptions.

For each backend (SQLite always; PostgreSQL when ``SUBSYNC_TEST_DATABASE_URL`` names a database or a
server answers on 127.0.0.1:5432) and each N, a fresh database gets N subscriptions (ten per
customer; a monthly fee billed in advance and metered API usage, started 2024-01-01) and the job runs
twice at 2024-03-15:

- **writing**: the first run syncs every subscription (creates its lines and sync state);
- **no-op**: a forced second run; every plan is empty (the job's unlocked pre-planning with
  batch-loaded chunks, reconciler §7.2 "Batching"). A sample is also synced one by one through the
  locked path (``sync_by_id``) for comparison.

PostgreSQL's planner statistics are kept fresh as autovacuum would on a live database (the
development server has autovacuum off): ``ANALYZE`` every 10 s during the writing run and once after
it. Printed per backend and N: median ms per writing sync (from the job's progress callbacks) and per
no-op sync (each pre-planning dry run, on batch-loaded data), the no-op run's mean per subscription
(its total over N: listing, chunk loading and transactions included), total seconds of each run, SQL statements per subscription, and
the peak RSS of the process that ran it (each N runs in its own process, so the RSS figures compare).

    .venv/bin/python benchmarks/reconcile_bench.py            # N = 1 000 and 10 000
    .venv/bin/python benchmarks/reconcile_bench.py --quick    # N = 100 and 1 000
    .venv/bin/python benchmarks/reconcile_bench.py --sizes 500 --backend sqlite

Targets (issue 5): no-op ≤ 3 ms, writing ≤ 15 ms, 10 000 no-op subscriptions ≤ 30 s, RSS flat in N.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
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
START = dt.datetime(2024, 1, 1, tzinfo=UTC)
RUN_AT = dt.datetime(2024, 3, 15, tzinfo=UTC)
NAMESPACE = "default"
PER_CUSTOMER = 10
LOCKED_SAMPLE = 300
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _setup(index: int) -> dict[str, Any]:
    return {
        "customer": {"key": f"cus-{index // PER_CUSTOMER:05d}"},
        "meters": [{"key": "api", "aggregation": "sum"}],
        "plan": {"key": "bench", "currency": "USD", "billing_cadence": "P1M", "phases": [{"key": "main", "rate_cards": [
            {"key": "fee", "type": "flat_fee", "billing_cadence": "P1M",
             "price": {"type": "flat", "amount": str(10 + index % 7), "payment_term": "in_advance"}},
            {"key": "api", "type": "usage_based", "billing_cadence": "P1M", "feature": "api",
             "price": {"type": "unit", "amount": "0.5"}},
        ]}]},
        "subscription": {"id": f"sub-{index:05d}", "start": "2024-01-01T00:00:00Z"},
    }


def _seed(store: Any, count: int) -> None:
    from billing.service import BillingService
    from billing.subscription_store import SubscriptionStore
    from subscriptions.setup import parse_subscription

    billing, subscriptions = BillingService(store), SubscriptionStore(store)
    for first in range(0, count, 500):
        with store.unit_of_work():
            if first == 0:
                billing.register_meter(NAMESPACE, "api", "sum")
            for index in range(first, min(first + 500, count)):
                if index % PER_CUSTOMER == 0:
                    key = f"cus-{index // PER_CUSTOMER:05d}"
                    billing.create_customer(NAMESPACE, key, customer_id=key)
                view = parse_subscription(_setup(index), clock=START)
                sub = view.subscription
                subscriptions.upsert_subscription(NAMESPACE, sub.id, customer_id=sub.customer_id,
                                                  view=view.model_dump(mode="json"), active_from=sub.active_from)


def _analyze(store: Any) -> None:
    """Refresh the query planner's statistics (``ANALYZE``)."""
    from sqlalchemy import text

    with store.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


class _Autovacuum:
    """What PostgreSQL's autovacuum does on a live database, which the development server has off:
    refresh the planner statistics while data is being written (every ``interval`` seconds, from a
    thread of its own). Without statistics the planner reads whole tables for lookups by subscription."""

    def __init__(self, store: Any, interval: float = 10.0) -> None:
        import threading

        self.store, self.interval = store, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            _analyze(self.store)

    def __enter__(self) -> "_Autovacuum":
        if self.store.engine.dialect.name == "postgresql":
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class _Timer:
    """The job's progress callbacks: the time between two ``done`` calls is one subscription's."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._last = time.perf_counter()

    def due(self, count: int) -> None:
        self._last = time.perf_counter()

    def done(self, listed: Any, outcome: Any) -> None:
        now = time.perf_counter()
        self.times.append((now - self._last) * 1000)
        self._last = now


def _open(backend: str, url: str | None) -> tuple[Any, Any]:
    """(store, cleanup) on a fresh database."""
    from billing.clock import FrozenClock
    from billing.store import Store

    clock = FrozenClock(RUN_AT)
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="subsync-bench-")
        store = Store(f"sqlite:///{directory}/bench.db", clock=clock)
        store.upgrade()
        return store, lambda: store.dispose()
    from sqlalchemy import create_engine, text

    schema = f"subsync_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store(url, clock=clock, schema=schema)
    store.upgrade()

    def cleanup() -> None:
        store.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return store, cleanup


def measure(backend: str, count: int, url: str | None) -> dict[str, Any]:
    """One backend and N, in this process."""
    from sqlalchemy import event

    from subsync.job import ReconcileJob
    from subsync.logging import configure_logging
    from subsync.sync import SyncService

    configure_logging("ERROR")
    store, cleanup = _open(backend, url)
    try:
        seed_started = time.perf_counter()
        _seed(store, count)
        seeded = time.perf_counter() - seed_started
        statements = [0]
        event.listen(store.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1))
        job = ReconcileJob.for_store(store)

        timer, statements[0], started = _Timer(), 0, time.perf_counter()
        with _Autovacuum(store):
            writing = job.run(progress=timer)
        writing_total, writing_statements, writing_times = time.perf_counter() - started, statements[0], timer.times
        assert writing.synced == count and writing.ok, writing.summary_line()
        _analyze(store)

        # The forced run pre-plans in chunks: time each of its dry runs (the per-subscription work).
        dry_runs: list[float] = []
        service_for = job.preplanner.service_for

        def timed_service_for(reads: Any) -> Any:
            service = service_for(reads)
            dry_run = service.sync_by_id

            def timed(*args: Any, **kwargs: Any) -> Any:
                begun = time.perf_counter()
                try:
                    return dry_run(*args, **kwargs)
                finally:
                    dry_runs.append((time.perf_counter() - begun) * 1000)

            service.sync_by_id = timed  # type: ignore[method-assign]
            return service

        job.preplanner.service_for = timed_service_for  # type: ignore[method-assign]
        statements[0], started = 0, time.perf_counter()
        noop = job.run(force=True)
        noop_total, noop_statements, noop_times = time.perf_counter() - started, statements[0], dry_runs
        assert noop.unchanged == count and noop.ok, noop.summary_line()

        service = SyncService.for_store(store)
        sample = min(count, LOCKED_SAMPLE)
        locked_times = []
        statements[0] = 0
        for index in range(sample):
            begun = time.perf_counter()
            result = service.sync_by_id(NAMESPACE, f"sub-{index:05d}", RUN_AT)
            locked_times.append((time.perf_counter() - begun) * 1000)
            assert result.plan is not None and result.plan.is_empty
        locked_statements = statements[0]
        return {
            "backend": backend,
            "n": count,
            "seed_s": round(seeded, 1),
            "writing_median_ms": round(statistics.median(writing_times), 2),
            "writing_total_s": round(writing_total, 1),
            "writing_queries_per_sub": round(writing_statements / count, 1),
            "noop_median_ms": round(statistics.median(noop_times), 2),
            "noop_mean_ms": round(noop_total / count * 1000, 2),
            "noop_total_s": round(noop_total, 1),
            "noop_queries_per_sub": round(noop_statements / count, 1),
            "locked_noop_median_ms": round(statistics.median(locked_times), 2),
            "locked_noop_queries_per_sub": round(locked_statements / sample, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        cleanup()


def _postgres_url() -> str | None:
    url = os.environ.get("SUBSYNC_TEST_DATABASE_URL")
    candidate = url or DEFAULT_PG
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(candidate, connect_args={"connect_timeout": 2})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - no server: SQLite only
        return None
    return candidate


COLUMNS = [
    ("backend", "backend"), ("n", "N"), ("writing_median_ms", "write ms (median)"),
    ("writing_total_s", "write total s"), ("writing_queries_per_sub", "write q/sub"),
    ("noop_median_ms", "no-op ms (median)"), ("noop_mean_ms", "no-op ms (mean)"), ("noop_total_s", "no-op total s"),
    ("noop_queries_per_sub", "no-op q/sub"), ("locked_noop_median_ms", "locked no-op ms"),
    ("locked_noop_queries_per_sub", "locked q/sub"), ("peak_rss_mb", "peak RSS MB"),
]


def _table(rows: list[dict[str, Any]]) -> str:
    widths = [max(len(title), *(len(str(row[key])) for row in rows)) for key, title in COLUMNS]
    lines = ["  ".join(title.rjust(width) for (_, title), width in zip(COLUMNS, widths))]
    lines += ["  ".join(str(row[key]).rjust(width) for (key, _), width in zip(COLUMNS, widths)) for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 1 000 instead of 1 000 and 10 000")
    parser.add_argument("--sizes", type=int, nargs="+", help="the N to run (overrides --quick)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "N", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        backend, count, url = args.child
        print(json.dumps(measure(backend, int(count), None if url == "-" else url)))
        return
    sizes = args.sizes or ([100, 1_000] if args.quick else [1_000, 10_000])
    backends = [("sqlite", None)]
    if args.backend in ("postgresql", "all"):
        url = _postgres_url()
        if url is None:
            print("PostgreSQL: no server reachable (set SUBSYNC_TEST_DATABASE_URL); SQLite only", file=sys.stderr)
        else:
            backends.append(("postgresql", url))
    if args.backend == "postgresql":
        backends = backends[1:]
    rows = []
    for backend, url in backends:
        for count in sizes:
            print(f"running {backend} N={count} …", file=sys.stderr, flush=True)
            child = subprocess.run([sys.executable, __file__, "--child", backend, str(count), url or "-"],
                                   capture_output=True, text=True, check=False)
            if child.returncode != 0:
                print(child.stderr, file=sys.stderr)
                raise SystemExit(f"{backend} N={count} failed")
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
            print(_table(rows[-1:]).splitlines()[1], file=sys.stderr, flush=True)
    print(_table(rows))
    print("targets: no-op <= 3 ms, writing <= 15 ms, 10 000 no-op subscriptions <= 30 s, RSS flat in N")


if __name__ == "__main__":
    main()
