"""Units of work, joining, savepoints, dry-run rollback and the per-customer lock."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from billing.errors import NotFoundError, StoreIntegrityError
from billing.store.locking import acquire_customer_lock
from billing.store.tables import CustomerLockRow, LineRow
from tests.conftest import POSTGRES_URL_ENV
from tests.billing.builders import CUSTOMER, NS, flat_line, make_customer


class Boom(Exception):
    pass


def line_count(store) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(LineRow)).scalar_one()


def test_port_calls_join_the_locked_transaction_and_an_error_rolls_everything_back(billing_service, store):
    make_customer(billing_service)
    with pytest.raises(Boom):
        with billing_service.locked_transaction(NS, CUSTOMER):
            billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
            assert len(billing_service.get_gathering_lines_for_subscription(NS, "sub-1")) == 1  # visible inside
            raise Boom
    assert line_count(store) == 0
    assert billing_service.list_customer_invoices(NS, CUSTOMER) == []


def test_a_dry_run_rolls_back_even_the_lock_row(billing_service, store):
    make_customer(billing_service)
    with billing_service.locked_transaction(NS, CUSTOMER, rollback=True) as uow:
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
        assert uow.session.scalar(select(func.count()).select_from(CustomerLockRow)) == 1
    assert line_count(store) == 0
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(CustomerLockRow)).scalar_one() == 0


def test_a_failed_call_inside_a_transaction_leaves_nothing_and_the_rest_commits(billing_service, store):
    make_customer(billing_service)
    with billing_service.locked_transaction(NS, CUSTOMER):
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
        with pytest.raises(StoreIntegrityError):  # duplicate live identity, refused in a savepoint
            billing_service.create_pending_invoice_lines(
                NS, CUSTOMER, "USD", [flat_line("sub-1/x/y/v[0]/period[0]"), flat_line()])
        with pytest.raises(NotFoundError):
            billing_service.update_gathering_invoice(NS, "missing", delete_line_ids=[])
    assert line_count(store) == 1


def test_unit_of_work_commits_at_exit_and_rolls_back_on_error(store, billing_service):
    make_customer(billing_service)
    with pytest.raises(Boom):
        with store.unit_of_work():
            billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
            raise Boom
    assert line_count(store) == 0
    with store.unit_of_work() as uow:
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
        assert store.current is uow
    assert store.current is None
    assert line_count(store) == 1


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_locked_transaction_holds_the_database_write_lock(store, billing_service):
    make_customer(billing_service)
    path = store.engine.url.database
    with billing_service.locked_transaction(NS, CUSTOMER):
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()


def _try_lock(billing, customer_id, started, acquired):  # type: ignore[no-untyped-def]
    started.set()
    with billing.locked_transaction(NS, customer_id):
        acquired.append(time.monotonic())


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"] if os.environ.get(POSTGRES_URL_ENV) else [], indirect=True)
def test_postgres_customer_lock_makes_a_second_transaction_wait(store, billing_service):
    make_customer(billing_service)
    billing_service.create_customer(NS, "customer-2", customer_id="cust-2")
    same: list[float] = []
    other: list[float] = []
    with billing_service.locked_transaction(NS, CUSTOMER):
        started = threading.Event()
        waiter = threading.Thread(target=_try_lock, args=(billing_service, CUSTOMER, started, same))
        waiter.start()
        free = threading.Thread(target=_try_lock, args=(billing_service, "cust-2", threading.Event(), other))
        free.start()
        free.join(timeout=5)
        assert other, "another customer's lock must not wait"
        started.wait(timeout=5)
        waiter.join(timeout=0.5)
        assert waiter.is_alive() and not same, "the second lock of the same customer must wait"
        released = time.monotonic()
    waiter.join(timeout=5)
    assert not waiter.is_alive() and same and same[0] >= released


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"] if os.environ.get(POSTGRES_URL_ENV) else [], indirect=True)
def test_postgres_lock_first_taken_in_a_rolled_back_savepoint_is_taken_again(store, billing_service):
    """PostgreSQL releases a row lock with the savepoint that took it; the unit of work must not
    believe it still holds the customer lock afterwards."""
    make_customer(billing_service)
    with store.locked_transaction(NS, "nobody-yet") as uow:
        with pytest.raises(Boom):
            with uow.session.begin_nested():
                uow.lock_customer(NS, CUSTOMER)
                raise Boom
        uow.lock_customer(NS, CUSTOMER)  # must lock again: the savepoint's lock is gone
        with Session(store.engine) as other:
            other.execute(text("SET lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                acquire_customer_lock(other, NS, CUSTOMER)  # as a second sync would
