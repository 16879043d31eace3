"""What a worker process needs to run its tasks: one database engine (connection pool) per process,
the sync settings, and a fresh ``Store``/``SyncService`` per task with the task's clock.

Celery's prefork pool forks its processes from the main one, and a connection pool must never cross a
fork: the context is built lazily in the process that uses it (``current_context``), and a process that
finds a context inherited from its parent drops it without closing the parent's connections.

On PostgreSQL the worker's connections carry ``lock_timeout`` (``SUBSYNC_LOCK_TIMEOUT``): a customer
lock held by another worker for longer than that fails the wait with ``lock_not_available``, which the
task retries with backoff instead of blocking a worker process indefinitely.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from billing.clock import FrozenClock
from billing.store import Store, create_store_engine
from reconciler.settings import SyncSettings
from subsync.settings import SystemClock, sync_settings
from subsync.sync import SyncService
from subsync.worker.config import WorkerSettings, load_worker_settings

ServiceFactory = Callable[[Store, SyncSettings], Any]


def create_worker_engine(url: str, *, lock_timeout: dt.timedelta | None = None) -> Engine:
    """The store's engine for ``url``; on PostgreSQL with ``lock_timeout`` on every connection (kept
    together with any ``options`` the URL already carries, e.g. a ``search_path``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or lock_timeout is None:
        return create_store_engine(url)
    options = parsed.query.get("options")
    if isinstance(options, tuple):
        options = " ".join(options)
    milliseconds = max(int(lock_timeout.total_seconds() * 1000), 1)
    combined = " ".join(part for part in (options, f"-c lock_timeout={milliseconds}") if part)
    return create_engine(parsed.difference_update_query(["options"]), connect_args={"options": combined},
                         pool_pre_ping=True)


def default_service(store: Store, settings: SyncSettings) -> SyncService:
    """The sync service the CLI and the job use: with ``credits_enabled``, the store's charges port."""
    from subsync.sync.charges_stack import sync_service

    return sync_service(store, settings)


class WorkerContext:
    """The per-process resources of a worker; ``store(as_of)`` and ``service(store)`` per task."""

    def __init__(
        self,
        *,
        database_url: str,
        settings: SyncSettings | None = None,
        worker_settings: WorkerSettings | None = None,
        engine: Engine | None = None,
        service_factory: ServiceFactory = default_service,
        custom_currencies: dict[str, int] | None = None,
    ) -> None:
        self.database_url = database_url
        self.settings = settings if settings is not None else SyncSettings()
        self.worker_settings = worker_settings if worker_settings is not None else WorkerSettings()
        self._engine = engine
        self._owns_engine = engine is None
        self.service_factory = service_factory
        self.custom_currencies = dict(custom_currencies or {})
        self.pid = os.getpid()

    @classmethod
    def from_environment(cls) -> "WorkerContext":
        worker_settings = load_worker_settings()
        return cls(database_url=worker_settings.database_url, settings=sync_settings(),
                   worker_settings=worker_settings)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            timeout = dt.timedelta(seconds=self.worker_settings.seconds("lock_timeout"))
            self._engine = create_worker_engine(self.database_url, lock_timeout=timeout)
        return self._engine

    def store(self, as_of: dt.datetime | None = None) -> Store:
        """A store on the process's engine whose clock reads ``as_of`` (or the wall clock)."""
        clock = FrozenClock(as_of) if as_of is not None else SystemClock()
        return Store(self.database_url, clock=clock, engine=self.engine, custom_currencies=self.custom_currencies)

    def service(self, store: Store) -> Any:
        return self.service_factory(store, self.settings)

    def dispose(self) -> None:
        if self._engine is not None and self._owns_engine:
            self._engine.dispose()
        self._engine = None

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's pool without closing its connections."""
        if self._engine is not None and self._owns_engine:
            self._engine.dispose(close=False)
        self._engine = None


_context: WorkerContext | None = None
_override: WorkerContext | None = None


def current_context() -> WorkerContext:
    """This process's context (built from the environment on first use, and again after a fork)."""
    global _context
    if _override is not None:
        return _override
    if _context is not None and _context.pid != os.getpid():
        _context.forget_after_fork()
        _context = None
    if _context is None:
        _context = WorkerContext.from_environment()
    return _context


def reset_context(*, after_fork: bool = False) -> None:
    """Dispose of (or, in a forked child, forget) this process's context."""
    global _context
    if _context is not None:
        if after_fork or _context.pid != os.getpid():
            _context.forget_after_fork()
        else:
            _context.dispose()
    _context = None


@contextlib.contextmanager
def use_context(context: WorkerContext) -> Iterator[WorkerContext]:
    """Run tasks in this process with ``context`` (tests, embedded use)."""
    global _override
    previous = _override
    _override = context
    try:
        yield context
    finally:
        _override = previous


__all__ = [
    "WorkerContext",
    "create_worker_engine",
    "current_context",
    "default_service",
    "reset_context",
    "use_context",
]
