"""Uniqueness backstops and check constraints (charges.md §1.6, §10.11): a direct store insert that
bypasses the service checks is rejected by the database on SQLite and PostgreSQL; the service refuses
the same thing first with ``ConflictError``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeConflictError
from billing.credit_purchases import repository
from billing.credit_purchases.tables import (
    CreditPurchaseRow,
    GrantRow,
    InvoiceLinkRow,
    PaymentRow,
)
from billing.errors import StoreIntegrityError
from billing.ids import new_id
from tests.billing.credit_purchases.conftest import CUSTOMER, JAN_15, NS, intent, snapshot


@pytest.fixture
def paid(real, billing, clock):  # type: ignore[no-untyped-def]
    clock.set(JAN_15)
    purchase = real.create(NS, intent("100", rate="1", effective_at=JAN_15, key="k-1", unique_reference_id="ref-1"))
    billing.approve_invoice(NS, purchase.link.invoice_id)  # type: ignore[union-attr]
    billing.payment_event(NS, purchase.link.invoice_id, "authorized")  # type: ignore[union-attr]
    return real.get(NS, purchase.id)


def refused(store, make_row) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(store)
    with pytest.raises(StoreIntegrityError):
        with store.unit_of_work() as uow:
            uow.session.add(make_row())
            uow.flush()
    assert snapshot(store) == before


def test_one_grant_per_purchase(store, paid):
    refused(store, lambda: GrantRow(id=new_id(), namespace=NS, charge_id=paid.id, transaction_group_id="tx-2",
                                    granted_at=JAN_15, created_at=JAN_15))


def test_one_payment_per_purchase(store, paid):
    payment = paid.payment
    refused(store, lambda: PaymentRow(
        id=new_id(), namespace=NS, charge_id=paid.id, kind="invoiced", status="authorized", fiat_amount=Decimal(1),
        currency="USD", service_period_start=JAN_15, service_period_end=JAN_15,
        authorized_transaction_group_id="tx", authorized_at=JAN_15, invoice_id=payment.invoice_id,
        line_id=payment.line_id, annotations={}, created_at=JAN_15, updated_at=JAN_15))


def test_one_invoice_link_per_purchase(store, paid):
    link = paid.link
    refused(store, lambda: InvoiceLinkRow(namespace=NS, charge_id=paid.id, invoice_id=link.invoice_id,
                                          line_id=link.line_id, linked_at=JAN_15))


@pytest.mark.parametrize("column", ["purchase_key", "unique_reference_id"])
def test_one_live_purchase_per_key_and_per_identity(store, paid, column):
    values = {"purchase_key": None, "unique_reference_id": None, column: {"purchase_key": "k-1",
                                                                         "unique_reference_id": "ref-1"}[column]}
    other = intent("1", settlement="promotional")

    def row():  # type: ignore[no-untyped-def]
        from billing.charges.models import CreditPurchaseCharge

        # a registry row without key or identity, so only the per-type index can refuse the copy
        with store.unit_of_work() as uow:
            charge = CreditPurchaseCharge(id=new_id(), namespace=NS, customer_id=CUSTOMER, currency="USD",
                                          intent=repository.charge_intent(other.model_copy(update={
                                              "service_period": paid.service_period,
                                              "full_service_period": paid.service_period,
                                              "billing_period": paid.service_period})),
                                          created_at=JAN_15, updated_at=JAN_15, sequence=0)
            uow.charges.insert(charge, JAN_15)
        return CreditPurchaseRow(charge_id=charge.id, namespace=NS, customer_id=CUSTOMER, settlement_type="promotional",
                                 created_at=JAN_15, **values)

    refused(store, row)


def test_the_service_refuses_a_reused_identity_with_a_conflict(real, store, paid):
    before = snapshot(store)
    with pytest.raises(ChargeConflictError, match="unique reference id"):
        real.create(NS, intent("1", settlement="promotional", unique_reference_id="ref-1"))
    assert snapshot(store) == before


@pytest.mark.parametrize(("values", "name"), [
    ({"settlement_type": "invoice_only"}, "settlement type in its set"),
    ({"settlement_type": "external"}, "initial status iff external"),
    ({"settlement_type": "invoice", "external_initial_status": "created"}, "initial status iff external"),
    ({"settlement_type": "invoice", "fiat_rate": Decimal(0)}, "fiat rate > 0"),
    ({"settlement_type": "invoice", "fiat_rate": Decimal("-0.5")}, "fiat rate > 0"),
])
def test_check_constraints_of_the_purchase_row(store, real, billing, values, name):
    from billing.charges.models import CreditPurchaseCharge

    with store.unit_of_work() as uow:
        charge = CreditPurchaseCharge(id=new_id(), namespace=NS, customer_id=CUSTOMER, currency="USD",
                                      intent=repository.charge_intent(intent("1", settlement="promotional").model_copy(
                                          update={"service_period": intent().service_period,
                                                  "full_service_period": intent().service_period,
                                                  "billing_period": intent().service_period})),
                                      created_at=JAN_15, updated_at=JAN_15, sequence=0)
        uow.charges.insert(charge, JAN_15)
    refused(store, lambda: CreditPurchaseRow(charge_id=charge.id, namespace=NS, customer_id=CUSTOMER,
                                             created_at=JAN_15, **values))


def test_a_grant_needs_a_ledger_group_id(store, paid):
    refused(store, lambda: GrantRow(id=new_id(), namespace="other-ns", charge_id=paid.id, transaction_group_id="",
                                    granted_at=JAN_15, created_at=JAN_15))
