"""Charge lifecycle rules the credit scenarios (scenarios/credits.md) showed, each pinned by its case:

- a new ``credit_then_invoice`` usage charge is not scheduled (C-011: ``advance_after`` null);
- progressive billing cuts a usage charge's gathering line without a split-line group: the part due
  becomes a partial run, the charge keeps its tail on gathering (C-011, C-023);
- an invoice holding a usage run stays open for collection until one minute after the run's ingestion
  bound (C-011: collection_at 02-15T00:01:00Z, status draft.waiting_for_collection);
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.requests import ChargePatchRequest, PeriodPatch
from billing.charges.runs import runs_of
from billing.errors import NothingToInvoiceError
from billing.period import Period
from tests.billing.charges.builders import flat_fee, usage_based
from tests.billing.charges.conftest import CUSTOMER, NS, at, usage

FEB = Period(start=at("2026-02-01T00:00:00"), end=at("2026-03-01T00:00:00"))


def test_c011_new_credit_then_invoice_usage_charge_waits_unscheduled_until_a_patch(clock, charges, customer):
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based("5", period=FEB))
    assert (charge.status, charge.advance_after) == ("created", None)
    clock.set(at("2026-02-10T00:00:00"))
    assert charges.advance_charges(NS, CUSTOMER) == []  # the advance pass never picks it up
    assert charges.get_charge(NS, charge.id).status == "created"
    # A patch after the service start activates it (UC-1), and the active charge is scheduled (UC-4).
    end = at("2026-02-20T00:00:00")
    patch = PeriodPatch(kind="shrink", service_period_end=end, full_service_period_end=FEB.end,
                        billing_period_end=end, invoice_at=end)
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: patch}))
    charge = charges.get_charge(NS, charge.id)
    assert (charge.status, charge.advance_after) == ("active", end)


def test_new_credit_then_invoice_flat_fee_and_credit_only_charges_stay_scheduled(clock, charges, customer):
    clock.set(at("2026-01-15T00:00:00"))
    flat = charges.create(NS, flat_fee("10", period=FEB))
    usage = charges.create(NS, usage_based("5", period=FEB, mode="credit_only", identity="sub-1/p/u2/v[0]/period[0]"))
    assert flat.advance_after == FEB.start  # §3.4.1: invoice_at
    assert usage.advance_after == FEB.start  # UO-1


def test_c011_progressive_invoicing_cuts_the_charge_line_and_keeps_the_tail_without_a_group(
        clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(100)
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based("5", period=FEB))
    usage(billing_service, ("2026-02-02T00:00:00", "100"), ("2026-02-20T00:00:00", "7"))
    clock.set(at("2026-02-15T00:00:01"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=at("2026-02-15T00:00:00"), progressive=True)
    (line,) = billing_service.get_invoice(NS, invoice.id).lines
    cut = Period(start=FEB.start, end=at("2026-02-15T00:00:00"))
    assert (line.service_period, line.invoice_at, line.charge_id) == (cut, cut.end, charge.id)
    assert line.split_line_group_id is None and line.quantity == Decimal(100)
    assert (line.totals.amount, line.totals.credits, line.totals.total) == (
        Decimal("500.00"), Decimal("100.00"), Decimal("400.00"))
    (gathering,) = [i for i in billing_service.list_customer_invoices(NS, CUSTOMER) if i.kind == "gathering"]
    (tail,) = [ln for ln in gathering.lines if ln.deleted_at is None]
    assert (tail.service_period, tail.invoice_at) == (Period(start=cut.end, end=FEB.end), FEB.end)
    assert (tail.charge_id, tail.engine, tail.split_line_group_id) == (charge.id, "charge_usagebased", None)
    assert tail.child_unique_reference_id == charge.unique_reference_id and tail.quantity is None
    (run,) = runs_of(charges.get_charge(NS, charge.id).realizations)
    assert (run.type, run.service_period, run.metered_quantity) == ("partial_invoice", cut, Decimal(100))


def test_flat_fee_charge_lines_are_not_cut_progressively(clock, charges, billing_service, customer):
    clock.set(at("2026-01-15T00:00:00"))
    charges.create(NS, flat_fee("10", period=FEB, term="in_arrears"))
    clock.set(at("2026-02-15T00:00:01"))
    with pytest.raises(NothingToInvoiceError):
        billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=at("2026-02-15T00:00:00"), progressive=True)


def test_c011_an_invoice_with_a_usage_run_waits_one_minute_for_collection(clock, charges, billing_service, customer):
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based("5", period=FEB))
    clock.set(at("2026-02-15T00:00:01"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=at("2026-02-15T00:00:00"), progressive=True)
    assert invoice.status == "draft.waiting_for_collection"
    assert invoice.collection_at == at("2026-02-15T00:01:00")
    charge = charges.get_charge(NS, charge.id)
    assert (charge.status, charge.advance_after) == ("active.realization.waiting_for_collection", invoice.collection_at)
    clock.set(at("2026-02-15T00:01:00"))
    billing_service.advance_invoice(NS, invoice.id)
    assert charges.get_charge(NS, charge.id).status == "active.realization.processing"


def test_a_flat_fee_charge_invoice_keeps_the_profile_collection(clock, charges, billing_service, customer):
    clock.set(at("2026-01-15T00:00:00"))
    charges.create(NS, flat_fee("10", period=FEB))
    clock.set(FEB.start)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert invoice.collection_at == FEB.start and invoice.status != "draft.waiting_for_collection"
