"""The load of one subscription issues a fixed number of SQL statements, whatever the number of lines,
invoices, hierarchies and charges (no N+1), and only reads."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import structlog
from sqlalchemy import event

from billing.charges.store import ChargeStore
from billing.clock import FrozenClock
from billing.service import BillingService
from billing.store import Store
from billing.store.tables import Base
from tests.persistedstate.builders import CUSTOMER, NS, at, daily, flat_charge, ident, make_customer, new_flat, new_usage
from tests.persistedstate.store_helpers import load

log = structlog.get_logger(__name__)


@contextmanager
def recorded_statements(store):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def populate(billing: BillingService, clock: FrozenClock, size: int) -> None:
    """``size`` daily flat fees and ``size`` daily usage lines; about half invoiced onto several standard
    invoices (one usage line split by progressive billing), the rest pending; ``size`` charges."""
    make_customer(billing, progressive=True)
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        new_flat(ident("fee", i), service_period=daily(i)) for i in range(size)
    ] + [
        new_usage(ident("api", i), service_period=daily(i)) for i in range(size)
    ])
    clock.set(daily(size // 2).start + dt.timedelta(hours=12))
    invoices = billing.invoice_pending_lines(NS, CUSTOMER, max_lines_per_invoice=max(2, size // 4))
    assert len(invoices) >= 2
    clock.set(clock.now() + dt.timedelta(days=1))
    billing.approve_invoice(NS, invoices[0].id)
    charges = ChargeStore(billing.store)
    with billing.store.unit_of_work():      # one transaction: the set-up, not the load, is what costs
        for i in range(size):
            charges.create_charge(flat_charge(ident("charged", i), service_period=daily(i)))


def test_loading_5_or_500_lines_issues_the_same_statements(database, tmp_path):
    counts: dict[int, int] = {}
    for size in (5, 500):
        url, schema = database
        if schema is None:
            url = f"sqlite:///{tmp_path / f'load-{size}.db'}"
        clock = FrozenClock(at(1))
        store = Store(url, clock=clock, schema=schema)
        Base.metadata.drop_all(store.engine)
        store.create_all()
        billing = BillingService(store)
        try:
            populate(billing, clock, size)
            with billing.locked_transaction(NS, CUSTOMER, rollback=True):
                with recorded_statements(store) as statements:
                    state = load(billing)
        finally:
            store.dispose()
        # every line, split hierarchy and charge was loaded: 2·size lines + size charges (one usage
        # line became a hierarchy)
        assert len(state.by_identity) == 3 * size
        assert sum(item.shape == "invoice.split_line_group" for item in state.by_identity.values()) == 1
        assert len(state.invoices) >= 3
        assert all(statement.lstrip().upper().startswith("SELECT") for statement in statements), statements
        counts[size] = len(statements)
    log.info("persistedstate.statement_count", counts=counts)
    assert counts[5] == counts[500]
    assert counts[5] <= 12
