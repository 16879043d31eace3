"""Pending lines and the gathering invoice: created on demand, one per customer and currency,
soft-deleted in the transaction that removes its last live line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import BillingValidationError, ConflictError, NotFoundError, StoreIntegrityError
from tests.billing.builders import CUSTOMER, NS, SUB, at, db_snapshot, flat_line, make_customer, period, usage_line


def gathering(billing, currency="USD"):  # type: ignore[no-untyped-def]
    return [i for i in billing.list_customer_invoices(NS, CUSTOMER) if i.kind == "gathering" and i.currency == currency]


def test_pending_lines_create_the_gathering_invoice_on_demand(billing_service):
    make_customer(billing_service)
    assert gathering(billing_service) == []

    created = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])

    [invoice] = gathering(billing_service)
    assert invoice.status == "gathering" and not invoice.immutable and invoice.deleted_at is None
    assert {line.invoice_id for line in created} == {invoice.id}
    assert [line.id for line in invoice.lines] == [line.id for line in created]
    fee, api = created
    assert (fee.kind, fee.quantity, fee.per_unit_amount, fee.totals.total) == ("flat_fee", 1, Decimal(5), Decimal("5.00"))
    assert (api.kind, api.quantity, api.totals.total) == ("usage_based", None, 0)
    assert invoice.totals.total == Decimal("5.00")


def test_later_lines_join_the_live_gathering_invoice_and_another_currency_gets_its_own(billing_service):
    make_customer(billing_service)
    [first] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    [second] = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_line("sub-1/default/fee/v[0]/period[1]", service_period=period(at(2), at(3)))]
    )
    [euro] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "EUR", [flat_line("sub-2/x/fee/v[0]/period[0]")])
    assert first.invoice_id == second.invoice_id != euro.invoice_id
    assert len(gathering(billing_service, "USD")) == len(gathering(billing_service, "EUR")) == 1


def test_appended_lines_are_rated_on_their_own_and_the_totals_match_a_full_rerating(billing_service, store):
    """Appending rates only the new lines; the invoice totals stay the sum over all live lines, exactly
    what rerating the whole invoice gives, through appends, a deletion and more appends."""
    from billing.operations.rerating import recalculate

    make_customer(billing_service)
    sub = "sub-1/default/fee/v[0]/period[{}]"
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(sub.format(0)), usage_line()])
    [second] = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_line(sub.format(1), service_period=period(at(2), at(3)))])
    billing_service.update_gathering_invoice(NS, second.invoice_id, delete_line_ids=[second.id])
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [
        flat_line(sub.format(index), service_period=period(at(index), at(index + 1))) for index in (2, 3)])
    [invoice] = gathering(billing_service)
    assert invoice.totals.total == Decimal("15.00") == sum(line.totals.total for line in invoice.lines
                                                            if line.deleted_at is None)
    with store.unit_of_work() as uow:
        row = uow.invoices.require_row(NS, invoice.id)
        recalculate(uow, row)
        uow.flush()
    [rerated] = gathering(billing_service)
    assert rerated.totals == invoice.totals
    assert [line.totals for line in rerated.lines] == [line.totals for line in invoice.lines]


def test_lines_are_normalised_to_whole_seconds(billing_service):
    make_customer(billing_service)
    odd = period(at(1).replace(microsecond=500_000), at(2).replace(microsecond=999_999))
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(service_period=odd)])
    assert line.service_period == period(at(1), at(2))
    assert line.invoice_at == at(1)
    assert line.subscription.billing_period == period(at(1), at(2))


def test_removing_the_last_live_line_soft_deletes_the_gathering_invoice_in_the_same_update(billing_service):
    make_customer(billing_service)
    fee, api = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])

    kept = billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[fee.id])
    assert kept.deleted_at is None and kept.totals.total == 0

    gone = billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[api.id])
    assert gone.deleted_at is not None
    assert all(line.deleted_at is not None for line in gone.lines)
    assert gathering(billing_service)[0].deleted_at is not None
    # A new pending line opens a fresh gathering invoice.
    [again] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    assert again.invoice_id != fee.invoice_id


def test_replacing_a_line_writes_every_field_and_can_undelete(billing_service, clock):
    make_customer(billing_service)
    fee, api = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])
    billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[api.id])
    shorter = period(at(1), at(1, 20))
    replaced = billing_service.update_gathering_invoice(
        NS,
        fee.invoice_id,
        replace_lines=[
            fee.model_copy(update={"service_period": shorter, "per_unit_amount": Decimal("3.10"), "name": "fee-2"}),
            api.model_copy(update={"deleted_at": None}),
        ],
    )
    by_id = {line.id: line for line in replaced.lines}
    assert by_id[fee.id].service_period == shorter
    assert (by_id[fee.id].name, by_id[fee.id].totals.total) == ("fee-2", Decimal("3.10"))
    assert by_id[api.id].deleted_at is None
    assert replaced.totals.total == Decimal("3.10")


def test_update_errors_change_nothing(billing_service, store):
    make_customer(billing_service)
    fee, _ = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])
    before = db_snapshot(store)
    inverted = fee.model_copy(update={"service_period": period(at(1, 10), at(1, 5))})
    with pytest.raises(BillingValidationError, match="ends before it starts"):
        billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[], replace_lines=[inverted])
    with pytest.raises(NotFoundError, match="not on invoice"):
        billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[fee.id, "nope"])
    assert db_snapshot(store) == before


def test_pending_lines_are_refused_for_unknown_customers_and_after_deletion(billing_service, store, clock):
    with pytest.raises(NotFoundError, match="customer 'cust-1'"):
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    make_customer(billing_service)
    clock.set(at(1, 15))
    billing_service.delete_customer(NS, CUSTOMER)
    before = db_snapshot(store)
    with pytest.raises(BillingValidationError, match="after customer 'cust-1' was deleted"):
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    assert db_snapshot(store) == before
    # A line ending at the deletion time is still accepted.
    [line] = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_line(service_period=period(at(1), at(1, 15)))]
    )
    assert line.service_period.end == at(1, 15)


def test_unique_live_identity_index_refuses_a_duplicate_and_leaves_nothing_behind(billing_service, store):
    make_customer(billing_service)
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    before = db_snapshot(store)
    with pytest.raises(StoreIntegrityError):
        billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    assert db_snapshot(store) == before


def test_unique_identity_index_ignores_deleted_manual_and_other_subscription_lines(billing_service):
    make_customer(billing_service)
    [first] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    # Another subscription may use the same identity string.
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(subscription=None)])
    # A manual line with the identity does not block a subscription-managed one.
    billing_service.edit_line(NS, first.invoice_id, first.id, edit=_rename("by hand"))
    [second] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    # Once soft-deleted, the identity is free again.
    billing_service.update_gathering_invoice(NS, second.invoice_id, delete_line_ids=[second.id])
    [third] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    assert third.child_unique_reference_id == second.child_unique_reference_id == first.child_unique_reference_id
    assert len(billing_service.get_gathering_lines_for_subscription(NS, SUB)) == 2  # manual + third


def _rename(name):  # type: ignore[no-untyped-def]
    from billing.operations.line_edits import LineEdit

    return LineEdit(name=name)


def test_a_deleted_gathering_invoice_cannot_be_updated(billing_service):
    make_customer(billing_service)
    [fee] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[fee.id])
    with pytest.raises(ConflictError, match="is deleted"):
        billing_service.update_gathering_invoice(NS, fee.invoice_id, delete_line_ids=[fee.id])
