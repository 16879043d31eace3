"""Flat lines created through the invoice API become manual flat-fee charges when new flat fees are
routed to charges (charges.md §3.6; C-026, C-032); a zero-amount line is refused and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.api import route_manual_flat_fees
from billing.charges.errors import ChargeValidationError
from billing.charges.service import ChargesService
from billing.lines import NewLine
from billing.period import Period
from billing.prices import FlatPrice, TaxConfig, UnitPrice
from tests.billing.charges.api_helpers import gathering_line, invoices, line, runs
from tests.billing.charges.builders import JAN, flat_fee
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables

TC_INV = TaxConfig(code="txcd_10000000", behavior="exclusive")
SETUP = Period(start=at("2026-01-10T00:00:00"), end=at("2026-01-20T00:00:00"))


@pytest.fixture
def charges(store, ledger):  # type: ignore[no-untyped-def]
    service = ChargesService(store, ledger, invoicing_tax_config=TC_INV)
    route_manual_flat_fees(store, True)
    return service


def manual_line(amount: str, *, name: str = "Manual setup fee", period: Period = SETUP, **fields) -> NewLine:  # type: ignore[no-untyped-def]
    return NewLine(name=name, managed_by="system", service_period=period, invoice_at=period.end,
                   price=FlatPrice(amount=Decimal(amount), payment_term="in_arrears"), **fields)


def test_C_026_a_flat_line_on_gathering_becomes_a_manual_charge(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    subscription_charge = charges.create(NS, flat_fee("5", term="in_arrears"))
    created = billing_service.create_pending_line(NS, CUSTOMER, "USD", manual_line("3"), source="api")

    assert created.id and created.charge_id and created.engine == "charge_flatfee"
    assert (created.managed_by, created.subscription, created.child_unique_reference_id) == ("manual", None, None)
    assert (created.service_period, created.per_unit_amount) == (SETUP, Decimal("3.00"))
    assert created.tax_config == TaxConfig(code="txcd_10000000", behavior="none")
    manual = charges.get_charge(NS, created.charge_id)
    assert (manual.type, manual.settlement_mode, manual.status) == ("flat_fee", "credit_then_invoice", "created")
    assert (manual.base.managed_by, manual.override, manual.subscription, manual.unique_reference_id) == (
        "manual", None, None, None)
    assert (manual.base.service_period, manual.base.invoice_at, manual.base.amount_before_proration) == (
        SETUP, SETUP.end, Decimal(3))
    assert manual.tax_config == TaxConfig(code="txcd_10000000", behavior="none")
    # The subscription's own charge and line are untouched; one gathering invoice holds both lines.
    assert charges.get_charge(NS, subscription_charge.id).override is None
    assert gathering_line(billing_service, subscription_charge.id).managed_by == "subscription"
    assert len(invoices(billing_service, "gathering")) == 1


def test_C_032_zero_line_refused_then_a_draft_line_consumes_the_remaining_credits(clock, charges, billing_service,
                                                                                 customer, store, ledger):
    ledger.credit = Decimal(7)
    clock.set(JAN.start)
    charges.create(NS, flat_fee("5", term="in_arrears"))
    clock.set(JAN.end)
    (draft,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert ledger.credit == Decimal(2)
    february = Period(start=JAN.end, end=at("2026-02-10T00:00:00"))

    before = dump_tables(store)
    with pytest.raises(ChargeValidationError, match="creating zero amount flat fee invoice lines is not supported") \
            as caught:
        billing_service.create_line(NS, draft.id, manual_line("0", name="Zero setup fee", period=february),
                                    source="api")
    assert caught.value.code == "invoice_line_zero_amount_create"
    assert dump_tables(store) == before and ledger.credit == Decimal(2)

    created = billing_service.create_line(NS, draft.id, manual_line("3", period=february), source="api")
    assert (created.invoice_id, created.engine, created.managed_by, created.subscription) == (
        draft.id, "charge_flatfee", "manual", None)
    assert (created.totals.amount, created.totals.credits, created.totals.total) == (
        Decimal("3.00"), Decimal("2.00"), Decimal("1.00"))
    manual = charges.get_charge(NS, created.charge_id)
    assert manual.status == "active.realization.processing" and manual.override is None
    (run,) = runs(charges, manual.id)
    assert (run.line_id, run.invoice_id, run.service_period, run.amount_after_proration) == (
        created.id, draft.id, february, Decimal("3.00"))
    assert [c.amount for c in run.credit_realizations] == [Decimal(2)]
    assert ledger.credit == Decimal(0)
    refetched = billing_service.get_invoice(NS, draft.id)
    assert len(refetched.live_lines()) == 2
    assert (refetched.totals.amount, refetched.totals.credits, refetched.totals.total) == (
        Decimal("8.00"), Decimal("7.00"), Decimal("1.00"))


def test_without_the_routing_an_api_line_stays_a_plain_line(clock, charges, billing_service, customer, store):
    route_manual_flat_fees(store, False)
    clock.set(JAN.start)
    created = billing_service.create_pending_line(NS, CUSTOMER, "USD", manual_line("3"), source="api")
    assert (created.engine, created.charge_id, created.managed_by) == ("invoicing", None, "manual")
    assert charges.list_customer_charges(NS, CUSTOMER) == []


def test_a_manual_usage_line_stays_a_plain_line(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    usage_line = NewLine(name="extra calls", service_period=JAN, invoice_at=JAN.end,
                         price=UnitPrice(amount=Decimal(1)), feature_key="api-requests")
    created = billing_service.create_pending_line(NS, CUSTOMER, "USD", usage_line, source="api")
    assert (created.engine, created.charge_id) == ("invoicing", None)
    assert charges.list_customer_charges(NS, CUSTOMER) == []


@pytest.mark.parametrize("fields", [{"engine": "charge_creditpurchase", "charge_id": "c-1"},
                                    {"engine": "charge_flatfee"}])
def test_a_created_line_cannot_name_a_charge(clock, charges, billing_service, customer, store, fields):
    clock.set(JAN.start)
    before = dump_tables(store)
    with pytest.raises(ChargeValidationError, match="charge-managed line cannot be updated"):
        billing_service.create_pending_line(NS, CUSTOMER, "USD", manual_line("3", **fields), source="api")
    assert dump_tables(store) == before


def test_a_manual_charge_line_is_then_billed_like_any_charge_line(clock, charges, billing_service, customer, ledger):
    clock.set(JAN.start)
    created = billing_service.create_pending_line(NS, CUSTOMER, "USD", manual_line("3"), source="api")
    clock.set(SETUP.end)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    (billed,) = [line(billing_service, i) for i in invoice.line_ids or ()]
    assert (billed.id, billed.charge_id, billed.totals.total) == (created.id, created.charge_id, Decimal("3.00"))
    billing_service.approve_invoice(NS, invoice.id)
    billing_service.payment_event(NS, invoice.id, "paid")
    assert charges.get_charge(NS, created.charge_id).status == "final"
