"""Flat fee, credit_then_invoice: creation, FC transitions through billing's invoice moments, run
payments and their replays, refusals (charges.md §3.4, §9.5 FF-01, DV-14)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.context import ChargeContext
from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.repository import lock_and_load
from billing.charges.runs import runs_of
from billing.period import Period
from tests.billing.charges.builders import JAN, flat_fee
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables


def _gathering_lines(billing_service, charge_id):  # type: ignore[no-untyped-def]
    return [line for invoice in billing_service.list_customer_invoices(NS, CUSTOMER) if invoice.kind == "gathering"
            for line in invoice.lines or () if line.charge_id == charge_id and line.deleted_at is None]


def test_creation_makes_one_gathering_line_projected_from_the_intent(clock, charges, billing_service, customer):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100", percentage_discounts={"percentage": "10"}))
    assert charge.status == "created"
    assert charge.advance_after == JAN.start
    assert charge.state["amount_after_proration"] == "100.00"
    (line,) = _gathering_lines(billing_service, charge.id)
    assert (line.engine, line.charge_id, line.managed_by) == ("charge_flatfee", charge.id, "subscription")
    assert line.per_unit_amount == Decimal("100.00") and line.price.payment_term == "in_advance"
    assert line.service_period == JAN and line.invoice_at == JAN.start
    assert line.subscription is not None and line.subscription.billing_period == JAN
    assert line.rate_card_discounts is not None and line.rate_card_discounts.percentage == Decimal("10")


def test_ff01_partial_credits_realization_payment_and_final(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(30)
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100"))
    clock.set(JAN.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert invoice.status == "draft.manual_approval_needed"
    assert (invoice.totals.amount, invoice.totals.credits, invoice.totals.total) == (
        Decimal("100.00"), Decimal("30.00"), Decimal("70.00"))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "active.realization.processing"
    (run,) = runs_of(charge.realizations)
    assert (run.totals.amount, run.totals.credits, run.totals.total) == (Decimal("100.00"), Decimal("30.00"), Decimal("70.00"))
    (allocation,) = run.credit_realizations
    assert allocation.type == "allocation" and allocation.amount == Decimal(30) and allocation.line_id == run.line_id
    assert not run.no_fiat_transaction_required
    consume = ledger.calls[0][1]
    assert consume["booked_at"] == JAN.start and consume["mode"] == "credit_then_invoice"

    billing_service.approve_invoice(NS, invoice.id)
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "active.awaiting_payment_settlement"
    assert ledger.names() == ["consume", "on_invoice_usage_accrued"]
    accrued = ledger.calls[1][1]
    assert accrued["totals"].total == Decimal("70.00") and accrued["booked_at"] == JAN.start

    billing_service.payment_event(NS, invoice.id, "authorized")
    billing_service.payment_event(NS, invoice.id, "paid")
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "final" and charge.advance_after is None
    (run,) = runs_of(charge.realizations)
    assert run.immutable and run.accrued_usage is not None
    assert run.payment is not None and run.payment.status == "settled" and run.payment.fiat_amount == Decimal("70.00")
    assert ledger.names() == ["consume", "on_invoice_usage_accrued", "on_run_payment_authorized", "on_run_payment_settled"]


def test_dv14_run_payment_replays_are_no_ops(clock, charges, billing_service, customer, ledger):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100"))
    clock.set(JAN.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    billing_service.approve_invoice(NS, invoice.id)
    from billing.charges.engines import ChargeLineEngine
    from billing.charges.hooks import engines_for

    engine = engines_for(charges.store)["charge_flatfee"]
    assert isinstance(engine, ChargeLineEngine)
    with charges.store.unit_of_work() as uow:
        row = uow.invoices.require_row(NS, invoice.id)
        lines = uow.invoices.line_rows(invoice.id, include_deleted=False)
        for _ in range(2):
            engine.on_payment_authorized(uow, row, lines)
        for _ in range(2):
            engine.on_payment_settled(uow, row, lines)
    assert ledger.names().count("on_run_payment_authorized") == 1
    assert ledger.names().count("on_run_payment_settled") == 1
    assert charges.get_charge(NS, charge.id).status == "final"


def test_paid_before_authorized_authorizes_then_settles(clock, charges, billing_service, customer, ledger):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100"))
    clock.set(JAN.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    billing_service.approve_invoice(NS, invoice.id)
    billing_service.payment_event(NS, invoice.id, "paid")
    assert ledger.names()[-2:] == ["on_run_payment_authorized", "on_run_payment_settled"]
    assert charges.get_charge(NS, charge.id).status == "final"


def test_fully_credited_run_books_no_accrual_and_is_final_after_issue(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(500)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("100"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    billing_service.approve_invoice(NS, invoice.id)
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "final"
    assert ledger.names() == ["consume"]
    (run,) = runs_of(charge.realizations)
    assert run.no_fiat_transaction_required and run.accrued_usage is None and run.totals.total == 0


def test_fc1_zero_amount_goes_final_without_line(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    short = Period(start=JAN.start, end=at("2026-01-01T00:00:40"))
    charge = charges.create(NS, flat_fee("5", period=short, full=JAN))
    assert charge.state["amount_after_proration"] == "0.00"
    assert _gathering_lines(billing_service, charge.id) == []
    (charge,) = charges.advance_charges(NS, CUSTOMER)
    assert charge.status == "final" and charge.advance_after is None


def test_fc2_advance_pass_activates_a_due_charge_and_is_idempotent(clock, charges, customer):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100"))
    assert charges.advance_charges(NS, CUSTOMER) == []  # not due yet
    clock.set(JAN.start)
    (charge,) = charges.advance_charges(NS, CUSTOMER)
    assert charge.status == "active" and charge.advance_after == JAN.end
    before = charges.get_charge(NS, charge.id)
    assert charges.advance_charges(NS, CUSTOMER) == []  # due again only at the service period end
    assert charges.get_charge(NS, charge.id) == before  # nothing moved, not even updated_at


def _machine(charges, charge_id):  # type: ignore[no-untyped-def]
    uow_cm = charges.store.unit_of_work()
    uow = uow_cm.__enter__()
    return uow_cm, charges.machine(ChargeContext(uow, charges.ledger), lock_and_load(uow, NS, charge_id))


@pytest.mark.parametrize("trigger", ["invoice_issued", "collection_completed", "next"])
def test_illegal_trigger_is_refused_and_changes_nothing(clock, store, charges, customer, ledger, trigger):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100"))
    before = dump_tables(store)
    cm, machine = _machine(charges, charge.id)
    try:
        args = {"line": object()} if trigger == "invoice_issued" else {}
        with pytest.raises(PreconditionFailed) as raised:
            machine.fire(trigger, **args)
        assert charge.id in str(raised.value) and trigger in str(raised.value) and "created" in str(raised.value)
    finally:
        cm.__exit__(None, None, None)
    assert dump_tables(store) == before
    assert ledger.calls == []


def test_unknown_trigger_and_missing_argument_are_validation_errors(clock, charges, customer):
    charge = charges.create(NS, flat_fee("100"))
    cm, machine = _machine(charges, charge.id)
    try:
        with pytest.raises(ChargeValidationError, match="unsupported trigger"):
            machine.fire("explode")
        with pytest.raises(ChargeValidationError, match="needs argument 'line'"):
            machine.fire("invoice_created", line=None)
    finally:
        cm.__exit__(None, None, None)


def test_attach_invoice_line_starts_realization_from_created(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(10)
    charge = charges.create(NS, flat_fee("100"))
    clock.set(JAN.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    line = next(line for line in billing_service.get_invoice(NS, invoice.id).lines if line.charge_id == charge.id)
    other = charges.create(NS, flat_fee("50", identity="manual-1"))
    cm, machine = _machine(charges, other.id)
    try:
        machine.fire("attach_invoice_line", line=line.model_copy(update={"id": "line-x"}))
        assert machine.status == "active.realization.processing"
        assert machine.current_run is not None and machine.current_run.line_id == "line-x"
        assert machine.history == ["active.realization.processing"]
    finally:
        cm.__exit__(None, None, None)
