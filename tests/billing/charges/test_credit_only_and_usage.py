"""credit_only flat fees (§3.5, FF-02) and usage-based charges in both modes (§4.3, §4.4, C-007)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.requests import ChargePatchRequest, DeletePatch, PeriodPatch
from billing.charges.runs import runs_of
from billing.period import Period
from tests.billing.charges.builders import JAN, flat_fee, usage_based
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables, usage

FEB = Period(start=at("2026-02-01T00:00:00"), end=at("2026-03-01T00:00:00"))


def test_ff02_credit_only_allocates_exactly_at_invoice_at(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(1000)
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100", mode="credit_only", percentage_discounts={"percentage": "10"}))
    assert charge.status == "created" and charge.advance_after == JAN.start
    assert billing_service.list_customer_invoices(NS, CUSTOMER) == []  # never touches billing
    assert charges.advance_charges(NS, CUSTOMER) == []
    clock.set(JAN.start)
    (charge,) = charges.advance_charges(NS, CUSTOMER)
    assert charge.status == "final" and charge.advance_after is None
    (run,) = runs_of(charge.realizations)
    assert (run.totals.amount, run.totals.discounts, run.totals.credits, run.totals.total) == (
        Decimal("100.00"), Decimal("10.00"), Decimal("90.00"), Decimal("0.00"))
    assert [c.amount for c in run.credit_realizations] == [Decimal("90.00")]
    assert run.line_id is None and run.no_fiat_transaction_required
    assert ledger.calls[0][1]["mode"] == "credit_only" and ledger.calls[0][1]["booked_at"] == JAN.start


def test_credit_only_shortfall_is_allocated_in_full_from_a_negative_balance(clock, charges, customer, ledger):
    ledger.credit = Decimal(30)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("100", mode="credit_only"))  # due at once: advanced after create
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "final"
    (run,) = runs_of(charge.realizations)
    assert [(c.source_id, c.amount) for c in run.credit_realizations] == [("lot-1", Decimal(30)), ("negative-1", Decimal(70))]
    assert ledger.negative == Decimal(70)


def test_credit_only_in_arrears_waits_for_the_booked_at(clock, charges, customer):
    clock.set(JAN.end)
    charge = charges.create(NS, flat_fee("100", mode="credit_only", term="in_arrears"))
    assert charges.get_charge(NS, charge.id).status == "final"


def test_credit_only_in_arrears_is_active_until_the_period_ends(clock, charges, customer):
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, flat_fee("100", mode="credit_only", term="in_arrears", invoice_at=JAN.start))
    charge = charges.get_charge(NS, charge.id)  # advanced right after create: invoice_at has come
    assert charge.status == "active" and charge.advance_after == JAN.end and charge.realizations == ()
    assert charges.advance_charges(NS, CUSTOMER) == []


def test_credit_only_shrink_corrects_lifo_and_delete_corrects_all(clock, charges, customer, ledger):
    ledger.credit = Decimal(1000)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("31", mode="credit_only"))
    shrink = PeriodPatch(kind="shrink", service_period_end=at("2026-01-11T00:00:00"), full_service_period_end=JAN.end,
                         billing_period_end=JAN.end, invoice_at=JAN.start)
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: shrink}))
    charge = charges.get_charge(NS, charge.id)
    (run,) = runs_of(charge.realizations)
    assert charge.state["amount_after_proration"] == "10.00" and run.net_allocations == Decimal("10.00")
    assert [c.amount for c in run.credit_realizations if c.type == "correction"] == [Decimal("-21.00")]
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: DeletePatch()}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "deleted" and runs_of(charge.realizations)[0].net_allocations == 0
    assert ledger.credit == Decimal(1000)


def test_credit_only_exactness_is_enforced(clock, charges, customer, ledger):
    class Stingy(type(ledger)):  # a broken ledger that covers less than asked
        def consume(self, **kwargs):  # type: ignore[no-untyped-def]
            result = super().consume(**kwargs)
            half = result.slices[-1].model_copy(update={"amount": kwargs["amount"] / 2})
            return result.model_copy(update={"slices": (half,)})

    from billing.charges.service import ChargesService

    stingy = Stingy(Decimal(5))
    service = ChargesService(charges.store, stingy)
    clock.set(JAN.start)
    charge = service.create(NS, flat_fee("100", mode="credit_only"))  # the advance fails, the charge stays
    assert service.get_charge(NS, charge.id).status == "created"
    with pytest.raises(ChargeValidationError) as raised:
        service.advance_charges(NS, CUSTOMER)
    assert raised.value.code == "credit_allocations_do_not_match_total"
    assert service.get_charge(NS, charge.id).status == "created"


def test_c007_usage_credit_only_mid_period_cancel(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(1000)
    clock.set(at("2026-01-15T00:00:00"))
    p0 = charges.create(NS, usage_based(mode="credit_only", period=FEB))
    p1 = charges.create(NS, usage_based(mode="credit_only", period=Period(start=FEB.end, end=at("2026-04-01T00:00:00")),
                                        identity="sub-1/p/usage/v[0]/period[1]"))
    assert p0.status == "created" and p0.advance_after == FEB.start
    usage(billing_service, ("2026-02-02T00:00:00", "3"), ("2026-02-15T00:00:00", "5"), ("2026-02-17T00:00:00", "13"))
    clock.set(at("2026-02-16T00:00:00"))
    cancel = at("2026-02-16T00:00:00")
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={
        p0.id: PeriodPatch(kind="shrink", service_period_end=cancel, full_service_period_end=FEB.end,
                           billing_period_end=cancel, invoice_at=cancel),
        p1.id: DeletePatch()}))
    p0 = charges.get_charge(NS, p0.id)
    assert p0.status == "active.realization.waiting_for_collection"
    assert p0.advance_after == at("2026-02-16T00:01:00")
    (run,) = runs_of(p0.realizations)
    assert (run.type, run.stored_at_lt, run.service_period_to, run.metered_quantity, run.net_allocations) == (
        "final_realization", cancel, cancel, Decimal(8), Decimal(8))
    assert charges.get_charge(NS, p1.id).status == "deleted"
    clock.set(at("2026-02-16T00:01:00"))
    (p0,) = charges.advance_charges(NS, CUSTOMER)
    assert p0.status == "final" and p0.advance_after is None
    (run,) = runs_of(p0.realizations)
    assert (run.totals.amount, run.totals.credits, run.totals.total) == (Decimal("8.00"), Decimal("8.00"), Decimal("0.00"))


def test_usage_credit_only_cancel_in_created_only_moves_the_period_c005(clock, charges, customer):
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based(mode="credit_only", period=FEB))
    patch = PeriodPatch(kind="shrink", service_period_end=at("2026-02-10T00:00:00"), full_service_period_end=FEB.end,
                        billing_period_end=at("2026-02-10T00:00:00"), invoice_at=at("2026-02-10T00:00:00"))
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: patch}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "created" and charge.advance_after == FEB.start and charge.realizations == ()


def test_usage_credit_then_invoice_lifecycle(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(100)
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based("5", period=FEB))
    (gathering,) = billing_service.list_customer_invoices(NS, CUSTOMER)
    (line,) = gathering.lines
    assert (line.engine, line.charge_id, line.service_period, line.invoice_at) == ("charge_usagebased", charge.id, FEB, FEB.end)
    usage(billing_service, ("2026-02-03T00:00:00", "40"))
    clock.set(FEB.end)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    # The usage run is collected one minute after its ingestion bound; so is the invoice (§4.1).
    assert invoice.collection_at == at("2026-03-01T00:01:00")
    assert charges.get_charge(NS, charge.id).status == "active.realization.waiting_for_collection"
    clock.set(at("2026-03-01T00:01:00"))
    billing_service.advance_invoice(NS, invoice.id)
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "active.realization.processing"
    (run,) = runs_of(charge.realizations)
    assert (run.type, run.metered_quantity) == ("final_realization", Decimal(40))
    assert (run.totals.amount, run.totals.credits, run.totals.total) == (Decimal("200.00"), Decimal("100.00"), Decimal("100.00"))
    stored = billing_service.get_invoice(NS, invoice.id)
    (standard_line,) = stored.lines
    assert standard_line.quantity == Decimal(40) and standard_line.totals.total == Decimal("100.00")
    billing_service.approve_invoice(NS, invoice.id)
    assert charges.get_charge(NS, charge.id).status == "active.awaiting_payment_settlement"
    billing_service.payment_event(NS, invoice.id, "paid")
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "final"
    # consumed when the run starts and again (nothing left) when collection re-rates it
    assert ledger.names() == ["consume", "consume", "on_invoice_usage_accrued", "on_run_payment_authorized",
                              "on_run_payment_settled"]


def test_usage_override_is_refused_once_a_run_exists(clock, store, charges, billing_service, customer, ledger):
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based("5", period=FEB))
    clock.set(FEB.end)
    billing_service.invoice_pending_lines(NS, CUSTOMER)
    before = dump_tables(store)
    with pytest.raises(PreconditionFailed, match="realization runs"):
        charges.set_override(NS, CUSTOMER, charge.id, charge.base.model_copy(update={"name": "x"}))
    assert dump_tables(store) == before


def test_usage_credit_then_invoice_delete_of_a_draft_run(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(100)
    clock.set(at("2026-01-15T00:00:00"))
    charge = charges.create(NS, usage_based("5", period=FEB))
    usage(billing_service, ("2026-02-03T00:00:00", "10"))
    clock.set(FEB.end)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge.id: DeletePatch()}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "deleted"
    (run,) = runs_of(charge.realizations)
    assert run.deleted_at is not None and run.net_allocations == 0 and ledger.credit == Decimal(100)
    assert billing_service.get_invoice(NS, invoice.id).status == "deleted"
