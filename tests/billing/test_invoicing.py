"""Invoicing pending lines: due lines become standard invoices; quantities are snapshotted from
meter events; progressive billing splits usage lines into split-line groups."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import NothingToInvoiceError
from billing.usage import NewUsageEvent
from tests.billing.builders import CUSTOMER, NS, SUB, at, db_snapshot, flat_line, make_customer, period, usage_line


def usage(billing, *events):  # type: ignore[no-untyped-def]
    billing.ingest_usage(NS, CUSTOMER, "api", [NewUsageEvent(time=t, value=Decimal(v)) for t, v in events])


def invoices(billing):  # type: ignore[no-untyped-def]
    return billing.list_customer_invoices(NS, CUSTOMER)


def test_due_lines_move_to_a_standard_invoice_and_the_empty_gathering_invoice_goes(billing_service, clock):
    make_customer(billing_service)
    fee, api = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])
    usage(billing_service, (at(1, 3), 7), (at(1, 31, 23), 3), (at(2), 100))  # the last is outside [01-01, 02-01)
    clock.set(at(2))

    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)

    assert invoice.kind == "standard" and invoice.status == "draft.waiting_auto_approval"
    by_id = {line.id: line for line in invoice.lines}
    assert set(by_id) == {fee.id, api.id}
    assert by_id[api.id].quantity == Decimal(10)
    assert by_id[api.id].totals.total == Decimal("5.00")
    assert invoice.totals.total == Decimal("10.00")
    [gathering] = [i for i in invoices(billing_service) if i.kind == "gathering"]
    assert gathering.deleted_at == at(2)


def test_only_lines_due_by_as_of_are_invoiced(billing_service, clock):
    make_customer(billing_service)
    fee, api = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])
    clock.set(at(1, 10))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert [line.id for line in invoice.lines] == [fee.id]
    [gathering] = [i for i in invoices(billing_service) if i.kind == "gathering"]
    assert gathering.deleted_at is None and [line.id for line in gathering.lines] == [api.id]


def test_nothing_to_invoice_is_an_error_that_changes_nothing(billing_service, store, clock):
    make_customer(billing_service)
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [usage_line()])
    before = db_snapshot(store)
    with pytest.raises(NothingToInvoiceError, match="cust-1"):
        billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=at(1, 15))
    assert db_snapshot(store) == before


def test_one_standard_invoice_per_currency_and_max_lines_per_invoice(billing_service, clock):
    make_customer(billing_service)
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        flat_line(f"sub-1/default/fee/v[0]/period[{i}]", name=f"fee-{i}") for i in range(3)
    ])
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "EUR", [flat_line("sub-2/default/fee/v[0]/period[0]")])
    created = billing_service.invoice_pending_lines(NS, CUSTOMER, max_lines_per_invoice=2)
    assert sorted((i.currency, len(i.lines)) for i in created) == [("EUR", 1), ("USD", 1), ("USD", 2)]
    assert len({i.id for i in created}) == 3


def test_collection_interval_keeps_the_invoice_waiting_for_collection(billing_service, clock):
    make_customer(billing_service, interval="P1D", draft_period="P3D")
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [usage_line()])
    usage(billing_service, (at(1, 10), 4))
    clock.set(at(2))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert invoice.status == "draft.waiting_for_collection"
    assert invoice.collection_at == at(2, 2)
    assert invoice.lines[0].quantity == 4
    # Late usage for the period arrives before collection closes: the re-snapshot picks it up.
    usage(billing_service, (at(1, 20), 6))
    clock.set(at(2, 2))
    collected = billing_service.advance_invoice(NS, invoice.id)
    assert collected.status == "draft.waiting_auto_approval"
    assert collected.lines[0].quantity == 10
    assert collected.totals.total == Decimal("5.00")


def test_progressive_billing_splits_usage_lines_at_as_of(billing_service, clock):
    make_customer(billing_service, progressive=True)
    api = usage_line()
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [api])
    usage(billing_service, (at(1, 5), 8), (at(1, 20), 2))
    clock.set(at(1, 10))

    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)

    [hierarchy] = billing_service.get_split_line_hierarchies_for_subscription(NS, SUB)
    group = hierarchy.group
    assert group.unique_reference_id == api.child_unique_reference_id
    assert group.service_period == api.service_period
    assert group.price == api.price and group.feature_key == "api" and group.subscription == api.subscription
    pre, post = hierarchy.children
    assert pre.line.id == line.id and pre.invoice.id == invoice.id
    assert pre.line.service_period == period(at(1), at(1, 10)) and pre.line.invoice_at == at(1, 10)
    assert pre.line.quantity == 8 and pre.line.totals.total == Decimal("4.00")
    assert post.invoice.kind == "gathering"
    assert post.line.service_period == period(at(1, 10), at(2)) and post.line.invoice_at == at(2)
    for child in hierarchy.children:
        assert child.line.child_unique_reference_id is None
        assert child.line.split_line_group_id == group.id
    # The identity moved to the group: no line of the subscription carries it any more.
    lines = billing_service.get_gathering_lines_for_subscription(NS, SUB) + billing_service.get_standard_lines_for_subscription(NS, SUB)
    assert all(line.child_unique_reference_id is None for line in lines)


def test_a_second_progressive_split_joins_the_existing_group_and_rates_cumulatively(billing_service, clock):
    make_customer(billing_service, progressive=True)
    tiered = {"type": "tiered", "mode": "graduated", "tiers": [
        {"up_to": "10", "unit_price": "1"}, {"up_to": None, "unit_price": "0.1"}]}
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [usage_line(price=tiered)])
    usage(billing_service, (at(1, 5), 8), (at(1, 15), 6), (at(1, 25), 5))
    clock.set(at(1, 10))
    [first] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    clock.set(at(1, 20))
    [second] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    clock.set(at(2))
    [third] = billing_service.invoice_pending_lines(NS, CUSTOMER)

    [hierarchy] = billing_service.get_split_line_hierarchies_for_subscription(NS, SUB)
    assert [c.line.service_period for c in hierarchy.children] == [
        period(at(1), at(1, 10)), period(at(1, 10), at(1, 20)), period(at(1, 20), at(2))]
    # 8 units in tier 1 → 8.00; then 6 more: 2 in tier 1, 4 in tier 2 → 2.40; then 5 in tier 2 → 0.50.
    assert [i.totals.total for i in (first, second, third)] == [Decimal("8.00"), Decimal("2.40"), Decimal("0.50")]


def test_an_empty_pre_split_part_is_soft_deleted(billing_service, clock):
    make_customer(billing_service, progressive=True)
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [usage_line()])
    usage(billing_service, (at(1, 5), 8))
    as_of = at(1).replace(microsecond=300_000)  # truncates to the line's start
    with pytest.raises(NothingToInvoiceError):
        billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=as_of)
    # The failed call left nothing behind, including no group.
    assert billing_service.get_split_line_hierarchies_for_subscription(NS, SUB) == []

    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=as_of)
    [hierarchy] = billing_service.get_split_line_hierarchies_for_subscription(NS, SUB)
    pre, post = hierarchy.children
    assert pre.line.id == line.id and pre.line.deleted_at is not None and pre.line.service_period.is_empty
    assert post.line.deleted_at is None and post.line.service_period == period(at(1), at(2))
    assert [l.name for l in invoice.lines] == ["fee"]


def test_flat_fees_are_never_split_and_progressive_can_be_switched_per_call(billing_service, clock):
    make_customer(billing_service, progressive=False)
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        flat_line(invoice_at=at(2)), usage_line()])
    with pytest.raises(NothingToInvoiceError):
        billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=at(1, 10))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=at(1, 10), progressive=True)
    assert [line.kind for line in invoice.lines] == ["usage_based"]
