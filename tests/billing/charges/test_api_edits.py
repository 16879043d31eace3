"""API edits of charge-managed lines become charge overrides (charges.md §3.6, §4.5, §7.7; C-025,
C-031, C-053); refused edits change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.requests import ChargePatchRequest, PeriodPatch
from billing.errors import ConflictError
from billing.operations.line_edits import LineEdit
from billing.period import Period
from billing.prices import Discounts, FlatPrice, TaxConfig, UnitPrice
from tests.billing.charges.api_helpers import gathering_line, line, runs
from tests.billing.charges.builders import JAN, flat_fee, usage_based
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables, usage

TAX = TaxConfig(behavior="exclusive", code="txcd_10000000")
EDITED = Period(start=at("2026-01-01T01:00:00"), end=at("2026-02-01T01:00:00"))


def _edit(billing_service, row, **fields):  # type: ignore[no-untyped-def]
    return billing_service.edit_line(NS, row.invoice_id, row.id, LineEdit(**fields), source="api")


def test_C_025_gathering_edit_is_an_override_that_sync_patches_never_see(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5", term="in_arrears", tax_config=TAX))
    original = gathering_line(billing_service, charge.id)
    edited = _edit(billing_service, original, price=FlatPrice(amount=Decimal(7), payment_term="in_advance"),
                   service_period=EDITED, invoice_at=EDITED.end)

    assert edited.id == original.id and edited.managed_by == "manual"
    assert (edited.price, edited.per_unit_amount) == (FlatPrice(amount=Decimal("7.00"), payment_term="in_advance"),
                                                      Decimal("7.00"))
    assert (edited.service_period, edited.invoice_at, edited.tax_config) == (EDITED, EDITED.end, TAX)
    stored = charges.get_charge(NS, charge.id)
    assert (stored.base.service_period, stored.base.invoice_at, stored.base.amount_before_proration,
            stored.base.payment_term) == (JAN, JAN.end, Decimal(5), "in_arrears")
    assert stored.override is not None
    assert (stored.override.service_period, stored.override.invoice_at, stored.override.amount_before_proration,
            stored.override.payment_term, stored.override.percentage_discounts) == (
        EDITED, EDITED.end, Decimal(7), "in_advance", None)
    assert stored.tax_config == TAX and stored.status == "created"

    # A cancel at Jan 15 (a system shrink of the base) changes only the hidden base.
    clock.set(at("2026-01-15T00:00:00"))
    cut = at("2026-01-15T00:00:00")
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: PeriodPatch(
        kind="shrink", service_period_end=cut, full_service_period_end=JAN.end, billing_period_end=cut,
        invoice_at=cut)}))
    stored = charges.get_charge(NS, charge.id)
    assert stored.base.service_period.end == cut and stored.override.service_period == EDITED
    assert gathering_line(billing_service, charge.id).model_dump(exclude={"updated_at"}) == \
        edited.model_dump(exclude={"updated_at"})

    # Clearing the override exposes the shrunk, prorated base: 5 × 14 d / 31 d = 2.26.
    cleared = charges.clear_override(NS, CUSTOMER, charge.id)
    assert cleared.override is None and cleared.status == "active"
    restored = gathering_line(billing_service, charge.id)
    assert (restored.service_period.end, restored.invoice_at, restored.per_unit_amount, restored.managed_by) == (
        cut, cut, Decimal("2.26"), "subscription")


def test_C_031_draft_line_discount_edit_rerates_the_current_run(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("15000", term="in_arrears"))
    clock.set(JAN.end)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    (draft,) = invoice_lines = [line(billing_service, i) for i in invoice.line_ids or ()]
    assert invoice_lines[0].managed_by == "subscription"

    edited = _edit(billing_service, draft, rate_card_discounts=Discounts(percentage=Decimal(50)))
    assert (edited.id, edited.charge_id, edited.engine, edited.managed_by) == (draft.id, charge.id, "charge_flatfee",
                                                                              "manual")
    assert edited.rate_card_discounts == Discounts(percentage=Decimal(50))
    assert (edited.totals.amount, edited.totals.discounts, edited.totals.total) == (
        Decimal("15000.00"), Decimal("7500.00"), Decimal("7500.00"))
    stored = charges.get_charge(NS, charge.id)
    assert stored.status == "active.realization.processing"
    assert stored.base.percentage_discounts is None
    assert stored.override.percentage_discounts == Discounts(percentage=Decimal(50))
    (run,) = runs(charges, charge.id)
    assert (run.line_id, run.invoice_id, run.immutable) == (draft.id, invoice.id, False)
    assert (run.totals.amount, run.totals.discounts, run.totals.total) == (
        Decimal("15000.00"), Decimal("7500.00"), Decimal("7500.00"))
    assert billing_service.get_invoice(NS, invoice.id).totals.total == Decimal("7500.00")


def test_a_lower_draft_amount_returns_credits_lifo(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(30)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("100"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    (draft,) = [line(billing_service, i) for i in invoice.line_ids or ()]
    assert draft.totals.credits == Decimal("30.00")

    edited = _edit(billing_service, draft, per_unit_amount=Decimal(20))
    assert (edited.totals.amount, edited.totals.credits, edited.totals.total) == (
        Decimal("20.00"), Decimal("20.00"), Decimal("0.00"))
    (run,) = runs(charges, charge.id)
    assert run.net_allocations == Decimal(20) and [c.type for c in run.credit_realizations] == ["allocation",
                                                                                                 "correction"]
    assert ledger.credit == Decimal(10)


@pytest.mark.parametrize("fields, field", [
    ({"tax_config": TAX}, "tax_config"),
    ({"quantity": Decimal(2)}, "quantity"),
    ({"price": UnitPrice(amount=Decimal(1))}, "price"),
])
def test_an_edit_of_the_fixed_attribution_is_refused_and_changes_nothing(clock, charges, billing_service, customer,
                                                                        store, fields, field):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5"))
    row = gathering_line(billing_service, charge.id)
    before = dump_tables(store)
    with pytest.raises(ChargeValidationError) as caught:
        _edit(billing_service, row, **fields)
    assert caught.value.field == field and charge.id in str(caught.value)
    assert dump_tables(store) == before


def test_a_line_of_an_issued_invoice_cannot_be_edited(clock, charges, billing_service, customer, store):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    billing_service.approve_invoice(NS, invoice.id)
    (issued,) = [line(billing_service, i) for i in invoice.line_ids or ()]
    before = dump_tables(store)
    with pytest.raises(ConflictError, match="immutable"):
        _edit(billing_service, issued, name="renamed")
    assert dump_tables(store) == before
    assert charges.get_charge(NS, charge.id).override is None


def test_usage_gathering_edit_without_runs_is_an_override(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("1"))
    row = gathering_line(billing_service, charge.id)
    edited = _edit(billing_service, row, price=UnitPrice(amount=Decimal(2)), name="api calls")
    assert (edited.id, edited.managed_by, edited.price, edited.name) == (
        row.id, "manual", UnitPrice(amount=Decimal(2)), "api calls")
    stored = charges.get_charge(NS, charge.id)
    assert stored.base.price == UnitPrice(amount=Decimal(1)) and stored.override.price == UnitPrice(amount=Decimal(2))


def test_usage_draft_line_edit_is_refused_once_the_charge_has_a_run(clock, charges, billing_service, customer, store):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("1"))
    usage(billing_service, ("2026-01-02T00:00:00", "4"))
    clock.set(JAN.end)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    (draft,) = [line(billing_service, i) for i in invoice.line_ids or ()]
    before = dump_tables(store)
    with pytest.raises(PreconditionFailed, match="realization runs"):
        _edit(billing_service, draft, price=UnitPrice(amount=Decimal(2)))
    assert dump_tables(store) == before
    assert charges.get_charge(NS, charge.id).override is None


def test_C_053_a_system_edit_changes_the_line_and_not_the_charge(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5"))
    row = gathering_line(billing_service, charge.id)
    before = charges.get_charge(NS, charge.id)
    edited = billing_service.edit_line(NS, row.invoice_id, row.id, LineEdit(
        annotations={"billing.subscription.sync.ignore": True}, service_period=EDITED), source="system")
    assert edited.service_period == EDITED and edited.managed_by == "subscription"
    assert charges.get_charge(NS, charge.id) == before


def test_a_locked_down_namespace_refuses_api_edits(clock, store, charges, billing_service, customer, ledger):
    from billing.charges.service import ChargesService

    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5"))
    row = gathering_line(billing_service, charge.id)
    ChargesService(store, ledger, lockdown_namespaces=frozenset({NS}))  # its engines now serve the store
    before = dump_tables(store)
    with pytest.raises(ChargeValidationError, match="locked down"):
        _edit(billing_service, row, name="renamed")
    with pytest.raises(ChargeValidationError, match="locked down"):
        billing_service.delete_line(NS, row.invoice_id, row.id, source="api")
    assert dump_tables(store) == before
