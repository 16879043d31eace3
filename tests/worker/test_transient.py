"""Which errors a task retries, and how long it waits (``subsync.worker.transient``)."""

from __future__ import annotations

import random
import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from billing.errors import StoreIntegrityError
from persistedstate.errors import DuplicateIdentityError, InvalidPeriodError
from subsync.worker.transient import backoff_seconds, is_transient


def driver_error(sqlstate: str | None, message: str = "") -> Exception:
    """A psycopg-like driver error carrying ``sqlstate``."""
    error = Exception(message)
    error.sqlstate = sqlstate  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize("sqlstate", [
    "57P01",  # admin_shutdown: what pg_terminate_backend sends
    "57P02", "57P03",  # crash shutdown, cannot connect now
    "08006", "08003", "08001",  # connection failure, does not exist, cannot connect
    "55P03",  # lock_not_available (lock_timeout)
    "57014",  # query_canceled (statement_timeout)
    "40001", "40P01",  # serialization failure, deadlock
    "53300",  # too many connections
])
def test_postgresql_connection_lock_and_concurrency_failures_are_transient(sqlstate):
    assert is_transient(sa_exc.OperationalError("SELECT …", {}, driver_error(sqlstate)))


@pytest.mark.parametrize("error", [
    sa_exc.IntegrityError("INSERT …", {}, driver_error("23505", "duplicate key")),  # unique violation
    sa_exc.ProgrammingError("SELECT …", {}, driver_error("42P01", "relation does not exist")),
    sa_exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: invoices")),
    sa_exc.DataError("x", {}, driver_error("22003", "numeric out of range")),
    StoreIntegrityError("the store refused a write (a live duplicate)"),
    DuplicateIdentityError("two lines share an identity", scope="invoice", subscription_id="sub-1"),
    InvalidPeriodError("the period ends before it starts", field="service_period", period="…", subscription_id="s"),
    ValueError("not a subscription"),
    KeyError("bug"),
], ids=lambda error: type(error).__name__)
def test_integrity_validation_configuration_and_programming_errors_are_not(error):
    assert not is_transient(error)


@pytest.mark.parametrize("message", ["database is locked", "database table is locked"])
def test_a_locked_sqlite_database_is_transient(message):
    assert is_transient(sa_exc.OperationalError("UPDATE …", {}, sqlite3.OperationalError(message)))


def test_a_broken_connection_without_a_sqlstate_is_transient():
    assert is_transient(sa_exc.OperationalError("SELECT 1", {}, driver_error(None, "server closed the connection")))
    assert is_transient(sa_exc.InterfaceError("SELECT 1", {}, Exception("the connection is closed")))
    assert is_transient(sa_exc.TimeoutError("QueuePool limit reached"))
    invalidated = sa_exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert is_transient(invalidated)


def test_an_error_raised_from_a_transient_one_is_transient():
    wrapped = RuntimeError("while applying the plan")
    wrapped.__cause__ = sa_exc.OperationalError("SELECT 1", {}, driver_error("57P01"))
    assert is_transient(wrapped)
    unrelated = RuntimeError("while applying the plan")
    unrelated.__cause__ = ValueError("bad input")
    assert not is_transient(unrelated)


def test_backoff_doubles_up_to_the_maximum_with_jitter_in_the_upper_half():
    rng = random.Random(7)
    for retries, ceiling in [(0, 2), (1, 4), (2, 8), (3, 16), (8, 300), (40, 300)]:
        delays = [backoff_seconds(retries, base=2, maximum=300, jitter=rng) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays), (retries, min(delays), max(delays))
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not constant
    with pytest.raises(ValueError):
        backoff_seconds(-1, base=2, maximum=300)
