"""Credit-purchase lines accept no invoice-API create, edit or delete, and no system deletion
(charges.md §5.6.7, §8 #34–35): every request is refused before anything is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.credit_purchases.models import PurchaseIntent
from billing.credit_purchases.service import CreditPurchaseService
from billing.lines import NewLine
from billing.operations.line_edits import LineEdit
from billing.prices import FlatPrice
from tests.billing.charges.api_helpers import invoices
from tests.billing.charges.builders import JAN
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables
from tests.billing.credit_purchases.spy import SpyLedger

REFUSED = "charge-managed line cannot be updated"


@pytest.fixture
def purchase_line(clock, store, charges, billing_service, customer):  # type: ignore[no-untyped-def]
    """An invoice-settled purchase of 100 USD credits at 0.5, its line still on the gathering invoice."""
    clock.set(at("2025-12-01T00:00:00"))
    purchases = CreditPurchaseService(store, SpyLedger())
    purchases.create(NS, PurchaseIntent.model_validate({
        "customer_id": CUSTOMER, "currency": "USD", "name": "Credit Purchase", "credit_amount": "100",
        "settlement": {"type": "invoice"}, "cost_basis": {"type": "fiat", "rate": "0.5"},
        "service_period": JAN, "full_service_period": JAN, "billing_period": JAN}))
    (gathering,) = invoices(billing_service, "gathering")
    (line,) = gathering.live_lines()
    assert line.engine == "charge_creditpurchase"
    return line


@pytest.fixture
def drafted(clock, billing_service, purchase_line):  # type: ignore[no-untyped-def]
    clock.set(JAN.start)
    (draft,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    (line,) = billing_service.get_invoice(NS, draft.id).live_lines()
    return line


def _refused(store, error: type[Exception], action) -> None:  # type: ignore[no-untyped-def]
    before = dump_tables(store)
    with pytest.raises(error, match=REFUSED):
        action()
    assert dump_tables(store) == before


def test_api_edit_of_a_draft_purchase_line_is_refused(store, billing_service, drafted):
    _refused(store, ChargeValidationError, lambda: billing_service.edit_line(
        NS, drafted.invoice_id, drafted.id, LineEdit(per_unit_amount=Decimal(1)), source="api"))


def test_api_edit_of_a_gathering_purchase_line_is_refused(store, billing_service, purchase_line):
    _refused(store, ChargeValidationError, lambda: billing_service.edit_line(
        NS, purchase_line.invoice_id, purchase_line.id, LineEdit(name="cheaper"), source="api"))


@pytest.mark.parametrize("source, error", [("api", ChargeValidationError), ("system", PreconditionFailed)])
def test_deleting_a_gathering_purchase_line_is_refused(store, billing_service, purchase_line, source, error):
    _refused(store, error, lambda: billing_service.delete_line(NS, purchase_line.invoice_id, purchase_line.id,
                                                               source=source))


@pytest.mark.parametrize("source, error", [("api", ChargeValidationError), ("system", PreconditionFailed)])
def test_deleting_a_draft_purchase_line_is_refused(store, billing_service, drafted, source, error):
    _refused(store, error, lambda: billing_service.delete_line(NS, drafted.invoice_id, drafted.id, source=source))


@pytest.mark.parametrize("source, error", [("api", ChargeValidationError), ("system", PreconditionFailed)])
def test_deleting_the_gathering_invoice_holding_a_purchase_line_is_refused(store, billing_service, purchase_line,
                                                                          source, error):
    _refused(store, error, lambda: billing_service.delete_invoice(NS, purchase_line.invoice_id, source=source))


@pytest.mark.parametrize("source, error", [("api", ChargeValidationError), ("system", PreconditionFailed)])
def test_deleting_the_draft_holding_a_purchase_line_is_refused(store, billing_service, drafted, source, error):
    _refused(store, error, lambda: billing_service.delete_invoice(NS, drafted.invoice_id, source=source))


def test_creating_a_purchase_line_through_the_api_is_refused(store, billing_service, drafted):
    line = NewLine(name="more credits", service_period=JAN, invoice_at=JAN.start,
                   price=FlatPrice(amount=Decimal(5)), engine="charge_creditpurchase", charge_id="some-purchase")
    _refused(store, ChargeValidationError, lambda: billing_service.create_line(NS, drafted.invoice_id, line,
                                                                               source="api"))
