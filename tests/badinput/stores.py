"""A billing store for the bad-input tests, and a dump of every table to compare before and after."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select

import billing.store.ledger_tables  # noqa: F401 - registers the ledger tables on the shared metadata
from billing.clock import FrozenClock
from billing.store import Store
from billing.store.tables import Base
from subsync.job.importing import import_file
from subsync.sync import SyncService

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 3, 10, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "example-subscription.yaml"


def open_sqlite_store(directory: Path) -> Store:
    store = Store(f"sqlite:///{directory / 'billing.db'}", clock=FrozenClock(NOW), custom_currencies={"CREDITS": 2})
    store.create_all()
    return store


def populate(store: Store) -> None:
    """The example subscription imported and synced: customers, meters, a subscription, invoices, lines."""
    import_file(store, EXAMPLE)
    SyncService.for_store(store).sync_by_id("default", "acme-pro", NOW)


def table_dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (ids and timestamps included), in a stable order."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as connection:
        for name, table in sorted(Base.metadata.tables.items()):
            dump[name] = sorted((tuple(row) for row in connection.execute(select(table)).all()), key=repr)
    return dump


def table_names(store: Store) -> set[str]:
    """The tables that exist in the database (not just in the metadata)."""
    return set(inspect(store.engine).get_table_names(schema=store.schema))


def row_counts(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump.items()}
