"""Lines created, edited and deleted as a user (api → manual) or the system would."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import BillingValidationError, ConflictError, NotFoundError
from billing.operations.line_edits import LineEdit
from billing.prices import FlatPrice, TaxConfig
from billing.usage import NewUsageEvent
from tests.billing.builders import CUSTOMER, NS, SUB, at, db_snapshot, flat_line, make_customer, period, usage_line


@pytest.fixture
def pending(billing_service):
    make_customer(billing_service)
    return billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])


def test_api_edit_makes_the_line_manual_and_rerates(billing_service, pending):
    fee, _ = pending
    edited = billing_service.edit_line(
        NS, fee.invoice_id, fee.id,
        LineEdit(per_unit_amount=Decimal("7.25"), name="custom", tax_config=TaxConfig(behavior="exclusive")),
        source="api",
    )
    assert edited.managed_by == "manual"
    assert (edited.per_unit_amount, edited.name, edited.totals.total) == (Decimal("7.25"), "custom", Decimal("7.25"))
    assert edited.tax_config == TaxConfig(behavior="exclusive")
    assert edited.child_unique_reference_id == fee.child_unique_reference_id
    assert billing_service.get_invoice(NS, fee.invoice_id).totals.total == Decimal("7.25")


def test_api_edit_of_only_the_flat_price_bills_the_new_price(billing_service, pending):
    fee, _ = pending
    new_price = FlatPrice(amount=Decimal("12.50"), payment_term="in_advance")
    edited = billing_service.edit_line(NS, fee.invoice_id, fee.id, LineEdit(price=new_price), source="api")
    assert (edited.price, edited.per_unit_amount, edited.totals.total) == (new_price, Decimal("12.50"), Decimal("12.50"))


def test_system_edit_keeps_managed_by(billing_service, pending):
    fee, _ = pending
    edited = billing_service.edit_line(
        NS, fee.invoice_id, fee.id, LineEdit(annotations={"billing.subscription.sync.ignore": True}), source="system"
    )
    assert edited.managed_by == "subscription"
    assert edited.annotation("billing.subscription.sync.ignore")


def test_api_delete_keeps_a_manual_tombstone_that_the_loader_sees(billing_service, pending):
    fee, api = pending
    deleted = billing_service.delete_line(NS, fee.invoice_id, fee.id, source="api")
    assert deleted.deleted_at is not None and deleted.managed_by == "manual"
    visible = {line.id for line in billing_service.get_gathering_lines_for_subscription(NS, SUB)}
    assert visible == {fee.id, api.id}
    # A system delete keeps managed_by; the subscription-managed tombstone is not loaded.
    billing_service.delete_line(NS, api.invoice_id, api.id, source="system")
    assert {line.id for line in billing_service.get_gathering_lines_for_subscription(NS, SUB)} == {fee.id}
    # The last live line went: the gathering invoice went with it.
    assert billing_service.get_invoice(NS, fee.invoice_id).deleted_at is not None


def test_api_create_on_gathering_and_on_a_mutable_standard_invoice(billing_service, pending, clock):
    fee, _ = pending
    manual = billing_service.create_line(NS, fee.invoice_id, flat_line(None, name="setup", amount="20"), source="api")
    assert manual.managed_by == "manual" and manual.invoice_id == fee.invoice_id and manual.child_unique_reference_id is None
    billing_service.ingest_usage(NS, CUSTOMER, "api", [NewUsageEvent(time=at(1, 3), value=Decimal(6))])
    clock.set(at(2))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    extra = billing_service.create_line(NS, invoice.id, usage_line(None, name="extra usage"), source="api")
    assert extra.quantity == 6 and extra.totals.total == Decimal("3.00")
    assert billing_service.get_invoice(NS, invoice.id).totals.total == Decimal("31.00")


def test_edit_on_a_standard_usage_line_resnapshots_a_new_period(billing_service, pending, clock):
    billing_service.ingest_usage(NS, CUSTOMER, "api", [NewUsageEvent(time=at(1, 3), value=Decimal(6)),
                                                         NewUsageEvent(time=at(1, 28), value=Decimal(4))])
    clock.set(at(2))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    api = next(line for line in invoice.lines if line.name == "api")
    edited = billing_service.edit_line(NS, invoice.id, api.id, LineEdit(service_period=period(at(1), at(1, 15))))
    assert edited.quantity == 6 and edited.managed_by == "manual"
    set_by_hand = billing_service.edit_line(NS, invoice.id, api.id, LineEdit(quantity=Decimal(100)))
    assert set_by_hand.quantity == 100 and set_by_hand.totals.total == Decimal("50.00")


def test_edits_on_immutable_invoices_and_bad_edits_change_nothing(billing_service, store, pending, clock):
    fee, api = pending
    before = db_snapshot(store)
    with pytest.raises(BillingValidationError, match="ends before it starts"):
        billing_service.edit_line(NS, fee.invoice_id, fee.id, LineEdit(service_period=period(at(1, 9), at(1, 2))))
    with pytest.raises(BillingValidationError, match="per_unit_amount is for flat fees only"):
        billing_service.edit_line(NS, api.invoice_id, api.id, LineEdit(per_unit_amount=Decimal(1)))
    with pytest.raises(NotFoundError):
        billing_service.delete_line(NS, fee.invoice_id, "missing")
    assert db_snapshot(store) == before

    clock.set(at(2))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    clock.set(at(2, 3))
    billing_service.advance_invoice(NS, invoice.id)
    before = db_snapshot(store)
    with pytest.raises(ConflictError, match="immutable"):
        billing_service.edit_line(NS, invoice.id, fee.id, LineEdit(name="late"))
    with pytest.raises(ConflictError, match="immutable"):
        billing_service.delete_line(NS, invoice.id, fee.id)
    assert db_snapshot(store) == before


def test_deleting_a_deleted_line_is_a_conflict(billing_service, pending):
    fee, _ = pending
    billing_service.delete_line(NS, fee.invoice_id, fee.id)
    with pytest.raises(ConflictError, match="already deleted"):
        billing_service.delete_line(NS, fee.invoice_id, fee.id)
