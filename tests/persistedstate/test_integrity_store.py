"""Integrity errors raised on real stored data (reconciler.md §2.4): type, scope, subscription,
customer and identity, and that loading wrote nothing. Data comes from billing operations; only the
corrupt rows (an inverted period, a line whose invoice is gone from the namespace) are written
directly. Errors the store's own constraints make impossible (two live groups or two live charges
with one identity, an unknown charge type) are covered on fake ports in test_loader_rules.py."""

from __future__ import annotations

import pytest

from billing.charges.store import ChargeStore
from billing.operations.line_edits import LineEdit
from persistedstate import (
    DuplicateIdentityError,
    InvalidChargeError,
    InvalidPeriodError,
    MissingInvoiceError,
    PersistedStateIntegrityError,
    UnsupportedItemTypeError,
)
from tests.persistedstate.builders import (
    CUSTOMER,
    NS,
    OTHER_CUSTOMER,
    assert_context,
    at,
    credit_purchase,
    flat_charge,
    ident,
    make_customer,
    new_flat,
    new_usage,
    period,
)
from tests.persistedstate.store_helpers import load, write_row


def all_rows(store):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from billing.store.tables import Base

    with store.engine.connect() as connection:
        return {name: sorted(map(repr, connection.execute(select(table)).all()))
                for name, table in Base.metadata.tables.items()}


def raises(error_type, billing, store):  # type: ignore[no-untyped-def]
    before = all_rows(store)
    with billing.locked_transaction(NS, CUSTOMER):
        with pytest.raises(error_type) as caught:
            load(billing)
    assert isinstance(caught.value, PersistedStateIntegrityError)
    after = all_rows(store)
    after.pop("billing_customer_locks"), before.pop("billing_customer_locks")   # the lock row is upserted
    assert after == before
    return caught.value


@pytest.fixture
def billing(billing_service):
    make_customer(billing_service, progressive=True)
    return billing_service


def test_duplicate_identity_on_two_lines(billing, store):
    [line] = billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident())])
    billing.edit_line(NS, line.invoice_id, line.id, LineEdit(name="edited"))        # now manual
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident())])  # sync's own line again
    error = raises(DuplicateIdentityError, billing, store)
    assert (error.scope, error.first_shape, error.second_shape) == ("invoice", "invoice.line", "invoice.line")
    assert_context(error, ident())


def test_duplicate_identity_on_a_line_and_a_split_line_group(billing, store, clock):
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_usage(ident("api"))])
    clock.set(at(1, 10))
    billing.invoice_pending_lines(NS, CUSTOMER)                  # splits: the group takes the identity
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_usage(ident("api"))])
    error = raises(DuplicateIdentityError, billing, store)
    assert (error.scope, error.first_shape, error.second_shape) == (
        "invoice", "invoice.line", "invoice.split_line_group")
    assert_context(error, ident("api"))


def test_duplicate_identity_across_backends(billing, store):
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident())])
    ChargeStore(store).create_charge(flat_charge(ident()))
    error = raises(DuplicateIdentityError, billing, store)
    assert (error.scope, error.first_shape, error.second_shape) == ("cross_backend", "invoice.line", "charge.flat_fee")
    assert_context(error, ident())


def test_missing_invoice(billing, store, clock):
    [line] = billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident())])
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    write_row(store, "invoice", invoice.id, namespace="elsewhere")     # corrupt: gone from our namespace
    error = raises(MissingInvoiceError, billing, store)
    assert error.invoice_id == invoice.id
    assert f"invoice not found for persisted subscription state: {invoice.id}" in str(error)
    assert_context(error, ident())


def test_credit_purchase_tied_to_the_subscription(billing, store):
    ChargeStore(store).create_charge(credit_purchase(ident("credits")))
    error = raises(UnsupportedItemTypeError, billing, store)
    assert error.item_type == "credit_purchase"
    assert_context(error, ident("credits"))


def test_inverted_line_period(billing, store):
    [line] = billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_flat(ident())])
    write_row(store, "line", line.id, service_period_end=at(1) - (at(2) - at(1)))
    error = raises(InvalidPeriodError, billing, store)
    assert error.field == "service_period" and error.period.end < error.period.start
    assert_context(error, ident())


def test_inverted_split_child_period_names_the_group(billing, store, clock):
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [new_usage(ident("api"))])
    clock.set(at(1, 10))
    billing.invoice_pending_lines(NS, CUSTOMER)
    [hierarchy] = billing.get_split_line_hierarchies_for_subscription(NS, "sub-ps")
    child = next(c for c in hierarchy.children if c.invoice.kind == "gathering")
    write_row(store, "line", child.line.id, service_period_start=at(3))
    error = raises(InvalidPeriodError, billing, store)
    assert error.period == period(at(3), at(2))
    assert_context(error, ident("api"))


def test_inverted_charge_base_period(billing, store):
    ChargeStore(store).create_charge(flat_charge(ident(), billing_period=period(at(2), at(1))))
    error = raises(InvalidPeriodError, billing, store)
    assert error.field == "base.billing_period"
    assert_context(error, ident())


def test_invalid_charge_of_another_customer(billing, store):
    make_customer(billing, OTHER_CUSTOMER)
    charge = ChargeStore(store).create_charge(flat_charge(ident(), customer_id=OTHER_CUSTOMER))
    error = raises(InvalidChargeError, billing, store)
    assert error.charge_id == charge.id and OTHER_CUSTOMER in error.reason
    assert_context(error, ident())
