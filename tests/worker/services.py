"""The services the worker tests need — Redis and PostgreSQL on loopback — and a fresh database for each.

- Redis: ``SUBSYNC_TEST_REDIS_URL`` or ``redis://127.0.0.1:6379/11``: a database number of its own,
  flushed before and after each test that uses it, so nothing is shared with anything else.
- PostgreSQL: ``SUBSYNC_TEST_DATABASE_URL`` or ``postgresql+psycopg://postgres@127.0.0.1:5432/test``;
  each test gets a fresh schema (migrated with alembic), dropped afterwards. Worker processes reach it
  through a URL carrying ``options=-csearch_path=<schema>``.

A test that needs a service skips, naming it, only when the service does not answer.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text

from billing.clock import FrozenClock
from billing.store import Store

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def redis_url() -> str:
    return os.environ.get("SUBSYNC_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def postgres_url() -> str:
    return os.environ.get("SUBSYNC_TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL


def redis_problem(url: str) -> str | None:
    """None when Redis answers at ``url``, else why not."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return f"Redis is not reachable at {url}: {exc}"
    return None


def postgres_problem(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL is not reachable at {url}: {type(exc).__name__}: {exc}"
    return None


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-csearch_path=<schema>`` (what worker processes and the CLI open)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@dataclass
class FreshSchema:
    url: str            # the server URL
    schema: str
    admin: Engine       # autocommit, on the server's default search_path

    @property
    def schema_url(self) -> str:
        return with_search_path(self.url, self.schema)

    def store(self, at: dt.datetime, **kwargs: Any) -> Store:
        return Store(self.url, clock=FrozenClock(at), schema=self.schema, **kwargs)

    def execute(self, sql: str, **params: Any) -> list[Any]:
        with self.admin.connect() as connection:
            connection.execute(text(f'SET search_path TO "{self.schema}"'))
            result = connection.execute(text(sql), params)
            return list(result) if result.returns_rows else []


def create_schema(url: str, *, migrate: bool = True) -> FreshSchema:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"subsync_worker_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    fresh = FreshSchema(url=url, schema=schema, admin=admin)
    if migrate:
        store = fresh.store(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
        store.upgrade()
        store.dispose()
    return fresh


def drop_schema(fresh: FreshSchema) -> None:
    with fresh.admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{fresh.schema}" CASCADE'))
    fresh.admin.dispose()


AUDIT_SYNC_STATE_WRITES = """
CREATE TABLE sync_state_writes (
    id bigserial PRIMARY KEY,
    subscription_id text NOT NULL,
    synced_at text NOT NULL,
    backend_pid integer NOT NULL DEFAULT pg_backend_pid()
);
CREATE FUNCTION record_sync_state_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_state_writes (subscription_id, synced_at) VALUES (NEW.subscription_id, NEW.synced_at::text);
    RETURN NEW;
END $$;
CREATE TRIGGER sync_state_audit AFTER INSERT OR UPDATE ON subscription_billing_sync_state
    FOR EACH ROW EXECUTE FUNCTION record_sync_state_write();
"""


def audit_sync_state_writes(fresh: FreshSchema) -> None:
    """Record every committed write of a sync-state row (a row written by a transaction that rolls
    back disappears with it), to count writes per subscription and run."""
    with fresh.admin.connect() as connection:
        connection.execute(text(f'SET search_path TO "{fresh.schema}"'))
        connection.exec_driver_sql(AUDIT_SYNC_STATE_WRITES)


__all__ = [
    "FreshSchema",
    "audit_sync_state_writes",
    "create_schema",
    "drop_schema",
    "flush_redis",
    "postgres_problem",
    "postgres_url",
    "redis_problem",
    "redis_url",
    "with_search_path",
]
