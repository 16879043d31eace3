"""Engines for the two supported databases.

- SQLite (embedded default, ``sqlite:///subsync.db``): the driver's own transaction handling is turned
  off and every transaction opens with ``BEGIN IMMEDIATE``, which takes the database write lock up
  front and so serialises writers (reconciler §6.3); foreign keys are enforced. The database runs in
  WAL mode with ``synchronous=FULL``: every commit is still durable, but costs one fsync of the log
  instead of the rollback journal's several, and readers are not blocked by the writer (WAL needs a
  local file system, not a network share).
- PostgreSQL (``postgresql+psycopg://…``): optionally pinned to a schema through ``search_path``
  (tests use a fresh schema each).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///subsync.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def create_store_engine(url: str = DEFAULT_URL, *, schema: str | None = None, echo: bool = False) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, echo=echo)
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if schema is not None:
            connect_args["options"] = f"-csearch_path={schema}"
        return create_engine(url, echo=echo, connect_args=connect_args, pool_pre_ping=True)
    raise ValueError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: use sqlite or postgresql")


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # persistent in the file; an in-memory database stays "memory"
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
