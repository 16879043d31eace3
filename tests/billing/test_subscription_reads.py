"""The loader's reads: visibility rules, and a fixed number of statements whatever the line count."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

import pytest
from sqlalchemy import event

from billing.usage import NewUsageEvent
from tests.billing.builders import CUSTOMER, NS, SUB, at, flat_line, make_customer, period, usage_line


@contextmanager
def count_statements(store):  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_visibility_rules_of_the_subscription_reads(billing_service, clock):
    make_customer(billing_service, progressive=True)
    fee, api, manual_deleted, system_deleted, charge_line = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD",
        [flat_line(), usage_line(),
         flat_line("sub-1/default/fee/v[0]/period[1]", service_period=period(at(2), at(3))),
         flat_line("sub-1/default/fee/v[0]/period[2]", service_period=period(at(3), at(4))),
         flat_line("sub-1/default/fee/v[0]/period[3]", service_period=period(at(4), at(5)), charge_id="charge-1")],
    )
    other = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_line("sub-2/default/fee/v[0]/period[0]", subscription=None)])
    billing_service.delete_line(NS, fee.invoice_id, manual_deleted.id, source="api")
    billing_service.delete_line(NS, fee.invoice_id, system_deleted.id, source="system")

    gathering = {line.id for line in billing_service.get_gathering_lines_for_subscription(NS, SUB)}
    assert gathering == {fee.id, api.id, manual_deleted.id}
    assert billing_service.get_standard_lines_for_subscription(NS, SUB) == []
    assert other[0].id not in gathering and charge_line.id not in gathering

    clock.set(at(1, 10))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    standard = billing_service.get_standard_lines_for_subscription(NS, SUB)
    assert {line.id for line in standard} == {fee.id, api.id}  # the usage line's pre-split part
    assert all(line.invoice_id == invoice.id for line in standard)
    assert {type(line).__name__ for line in standard} == {"StandardLine"}
    [hierarchy] = billing_service.get_split_line_hierarchies_for_subscription(NS, SUB)
    assert {c.invoice.kind for c in hierarchy.children} == {"standard", "gathering"}


def test_list_invoices_returns_deleted_ones_with_line_ids_and_issues(billing_service, clock):
    make_customer(billing_service)
    fee, api = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])
    clock.set(at(2))
    [standard] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    gathering_id = fee.invoice_id
    listed = billing_service.list_invoices(NS, [standard.id, gathering_id, "missing"])
    assert [i.id for i in listed] == [gathering_id, standard.id]
    gathering, std = listed
    assert gathering.deleted_at is not None and gathering.line_ids == ()
    assert set(std.line_ids) == {fee.id, api.id} and std.lines is None
    assert [i.id for i in billing_service.list_invoices(NS, [standard.id, gathering_id], include_deleted=False)] == [standard.id]
    bare = billing_service.list_invoices(NS, [standard.id], with_line_ids=False, with_validation_issues=False)
    assert bare[0].line_ids is None


def populate(billing, clock, lines: int) -> None:  # type: ignore[no-untyped-def]
    """``lines`` flat and usage lines on gathering and standard invoices, plus split hierarchies."""
    make_customer(billing, progressive=True)
    half = lines // 2
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        flat_line(f"sub-1/default/fee/v[0]/period[{i}]", service_period=period(at(1), at(2))) for i in range(half)
    ] + [
        usage_line(f"sub-1/default/api/v[0]/period[{i}]", service_period=period(at(1), at(2))) for i in range(lines - half)
    ])
    billing.ingest_usage(NS, CUSTOMER, "api", [NewUsageEvent(time=at(1, 3), value=Decimal(2))])
    clock.set(at(1, 10))
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    clock.set(at(1, 20))
    billing.approve_invoice(NS, invoice.id)
    billing.upsert_validation_issues(NS, invoice.id, [])


def read_all(billing):  # type: ignore[no-untyped-def]
    standard = billing.get_standard_lines_for_subscription(NS, SUB)
    gathering = billing.get_gathering_lines_for_subscription(NS, SUB)
    hierarchies = billing.get_split_line_hierarchies_for_subscription(NS, SUB)
    invoice_ids = {line.invoice_id for line in standard + gathering}
    invoice_ids |= {child.invoice.id for h in hierarchies for child in h.children}
    invoices = billing.list_invoices(NS, invoice_ids)
    return standard, gathering, hierarchies, invoices


@pytest.mark.parametrize("small, large", [(5, 500)])
def test_subscription_reads_issue_the_same_statements_for_5_and_500_lines(database, clock, small, large, tmp_path):
    from billing.service import BillingService
    from billing.store import Store

    counts = {}
    for size in (small, large):
        url, schema = database
        if schema is None:  # a separate SQLite file per size
            url = f"sqlite:///{tmp_path / f'reads-{size}.db'}"
        store = Store(url, clock=clock.__class__(at(1)), schema=schema)
        if schema is not None:
            from billing.store.tables import Base

            Base.metadata.drop_all(store.engine)
        store.create_all()
        billing = BillingService(store)
        populate(billing, store.clock, size)
        with count_statements(store) as statements:
            standard, gathering, hierarchies, invoices = read_all(billing)
        usage_lines = size - size // 2
        # flat fees and pre-split children on the paid invoice; post-split children on the gathering one
        assert len(standard) == size and len(gathering) == len(hierarchies) == usage_lines
        assert all(len(h.children) == 2 for h in hierarchies) and len(invoices) == 2
        counts[size] = len(statements)
        store.dispose()
    assert counts[small] == counts[large]
    assert counts[small] <= 12
