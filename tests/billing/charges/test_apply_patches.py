"""The charges port ``apply_patches`` (charges.md §7.4–§7.7, reconciler.md §5.4): patches on partly
realized, invoiced and overridden charges, the invoice updater on gathering / mutable / immutable
invoices, creates last, validation, and the 100-round limit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.charges.errors import (
    ChargeAdvanceLimitError,
    ChargeConflictError,
    ChargeNotFoundError,
    ChargeValidationError,
    PreconditionFailed,
)
from billing.charges.flat_fee.credit_then_invoice import FlatFeeCreditThenInvoice
from billing.charges.invoice_patches import UpsertGatheringLineByChargeId
from billing.charges.machine import rule
from billing.charges.projection import flat_fee_line
from billing.charges.requests import ChargePatchRequest, DeletePatch, PeriodPatch
from billing.charges.runs import runs_of
from billing.charges.service import ChargesService
from billing.period import Period
from patches.apply import ChargePatchInput
from patches.model import ChargeShrink
from patches.model.base import Change
from patches.model.changes import ChargePeriodChanges
from tests.billing.charges.builders import JAN, flat_fee
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables


def shrink_to(end: dt.datetime) -> PeriodPatch:
    return PeriodPatch(kind="shrink", service_period_end=end, full_service_period_end=JAN.end,
                       billing_period_end=end, invoice_at=JAN.start)


def request(**patches) -> ChargePatchRequest:  # type: ignore[no-untyped-def]
    return ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id=patches)


def lines_of(billing_service, charge_id, *, kind=None):  # type: ignore[no-untyped-def]
    return [(invoice, line) for invoice in billing_service.list_customer_invoices(NS, CUSTOMER)
            if kind is None or invoice.kind == kind
            for line in invoice.lines or () if line.charge_id == charge_id]


def test_creates_come_from_the_applier_input_and_get_gathering_lines(clock, charges, billing_service, customer):
    from tests.billing.charges.builders import SUB
    from patches.model.intents import FlatFeeChargeIntent

    intent = FlatFeeChargeIntent(
        customer_id=CUSTOMER, currency="USD", unique_reference_id="sub-1/p/flat/v[0]/period[0]", subscription=SUB,
        settlement_mode="credit_then_invoice", name="flat-fee", service_period=JAN, full_service_period=JAN,
        billing_period=JAN, invoice_at=JAN.start, amount_before_proration=Decimal(100))
    charges.apply_patches(NS, ChargePatchInput(customer_id=CUSTOMER, creates=(intent,)))
    (charge,) = charges.list_customer_charges(NS, CUSTOMER)
    assert charge.status == "created" and charge.unique_reference_id == intent.unique_reference_id
    ((invoice, line),) = lines_of(billing_service, charge.id)
    assert invoice.kind == "gathering" and line.per_unit_amount == Decimal("100.00")


def test_shrink_on_gathering_prorates_and_upserts_the_line_c016(clock, charges, billing_service, customer):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("20"))
    ((_, before),) = lines_of(billing_service, charge.id)
    changes = ChargePeriodChanges(
        service_period_end=Change(old=JAN.end, new=at("2026-01-31T00:00:00")),
        full_service_period_end=Change(old=JAN.end, new=JAN.end),
        billing_period_end=Change(old=JAN.end, new=at("2026-01-31T00:00:00")),
        invoice_at=Change(old=JAN.start, new=JAN.start))
    charges.apply_patches(NS, ChargePatchInput(customer_id=CUSTOMER, patches_by_charge_id={
        charge.id: ChargeShrink(charge_id=charge.id, changes=changes)}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.state["amount_after_proration"] == "19.35"  # 20 × 30/31
    assert charge.status == "created" and charge.base.service_period.end == at("2026-01-31T00:00:00")
    ((_, line),) = lines_of(billing_service, charge.id)
    assert line.id == before.id and line.per_unit_amount == Decimal("19.35")
    assert line.service_period.end == at("2026-01-31T00:00:00")


def test_shrink_to_zero_deletes_the_line_and_finalizes_c013(clock, charges, billing_service, customer):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("5"))
    charges.apply_patches(NS, request(**{charge.id: shrink_to(at("2026-01-01T00:00:40"))}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "final" and charge.advance_after is None
    assert [line.deleted_at is not None for _, line in lines_of(billing_service, charge.id)] == [True]


def test_shrink_of_a_draft_run_rerates_and_corrects_credits_c017(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(2)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("6"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    charges.apply_patches(NS, request(**{charge.id: shrink_to(at("2026-01-02T00:00:00"))}))
    charge = charges.get_charge(NS, charge.id)
    (run,) = runs_of(charge.realizations)
    assert charge.state["amount_after_proration"] == "0.19"
    assert (run.totals.amount, run.totals.credits, run.totals.total) == (Decimal("0.19"), Decimal("0.19"), Decimal("0.00"))
    corrections = [c for c in run.credit_realizations if c.type == "correction"]
    assert [c.amount for c in corrections] == [Decimal("-1.81")]
    assert ledger.credit == Decimal("1.81")  # back to the lot
    ((standard, line),) = lines_of(billing_service, charge.id, kind="standard")
    assert standard.id == invoice.id and line.per_unit_amount == Decimal("0.19")
    assert (line.totals.credits, line.totals.total) == (Decimal("0.19"), Decimal("0.00"))
    assert charge.status == "active.realization.processing"


def test_delete_of_a_draft_run_removes_the_line_and_returns_credits(clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(30)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("100"))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    charges.apply_patches(NS, request(**{charge.id: DeletePatch()}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "deleted" and charge.deleted_at is not None
    assert charge.base.intent_deleted_at is not None
    (run,) = runs_of(charge.realizations)
    assert run.deleted_at is not None and run.net_allocations == 0
    assert ledger.credit == Decimal(30)
    assert billing_service.get_invoice(NS, invoice.id).status == "deleted"  # its last line went


def test_delete_on_gathering_deletes_the_line(clock, charges, billing_service, customer):
    charge = charges.create(NS, flat_fee("100"))
    charges.apply_patches(NS, request(**{charge.id: DeletePatch()}))
    assert charges.get_charge(NS, charge.id).status == "deleted"
    assert all(line.deleted_at is not None for _, line in lines_of(billing_service, charge.id))
    assert charges.list_charges(NS, subscription_ids=["sub-1"]) == []


def _paid_charge(clock, charges, billing_service, amount="100"):  # type: ignore[no-untyped-def]
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee(amount))
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    billing_service.approve_invoice(NS, invoice.id)
    billing_service.payment_event(NS, invoice.id, "paid")
    return charges.get_charge(NS, charge.id), invoice


def test_shrink_of_an_issued_run_warns_and_voids_it_without_a_replacement_line(clock, charges, billing_service, customer, ledger):
    charge, invoice = _paid_charge(clock, charges, billing_service)
    assert charge.status == "final"
    calls = len(ledger.calls)
    charges.apply_patches(NS, request(**{charge.id: shrink_to(at("2026-01-16T00:00:00"))}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.status == "final"
    (run,) = runs_of(charge.realizations)
    assert run.type == "invalid_due_to_unsupported_credit_note" and run.voided
    stored = billing_service.get_invoice(NS, invoice.id)
    (issue,) = stored.validation_issues
    assert (issue.severity, issue.code, issue.component) == ("warning", "immutable_invoice_handling_not_supported",
                                                            "charges.invoiceupdater")
    assert issue.path == f"lines/{run.line_id}"
    assert [line.deleted_at for line in stored.lines] == [None]  # the immutable line stays
    assert lines_of(billing_service, charge.id, kind="gathering") == []  # no replacement line
    assert len(ledger.calls) == calls  # the ledger is not touched


def test_immutable_run_with_unchanged_amount_only_updates_the_intent(clock, charges, billing_service, customer):
    charge, invoice = _paid_charge(clock, charges, billing_service)
    patch = PeriodPatch(kind="shrink", service_period_end=at("2026-01-31T00:00:00"), full_service_period_end=at("2026-01-31T00:00:00"),
                        billing_period_end=at("2026-01-31T00:00:00"), invoice_at=JAN.start)
    charges.apply_patches(NS, request(**{charge.id: patch}))
    charge = charges.get_charge(NS, charge.id)
    assert charge.base.service_period.end == at("2026-01-31T00:00:00") and charge.state["amount_after_proration"] == "100.00"
    assert billing_service.get_invoice(NS, invoice.id).validation_issues == ()
    assert runs_of(charge.realizations)[0].type == "final_realization"


@pytest.mark.parametrize("status", ["active.realization.issuing", "active.realization.completed",
                                    "active.realization.zero_fiat_amount_overage_completed"])
@pytest.mark.parametrize("trigger", ["shrink", "extend", "set_override", "line_manual_edit"])
def test_patches_are_refused_while_billing_issues_and_change_nothing(clock, store, charges, customer, ledger,
                                                                     status, trigger):
    from billing.charges.context import ChargeContext
    from billing.charges.repository import lock_and_load

    charge = charges.create(NS, flat_fee("100"))
    with store.unit_of_work() as uow:
        uow.charges.save(charge.model_copy(update={"status": status}), uow.now)
    before = dump_tables(store)
    args = {"override": charge.base} if trigger in ("set_override", "line_manual_edit") else {
        "patch": shrink_to(at("2026-01-16T00:00:00")) if trigger == "shrink" else PeriodPatch(
            kind="extend", service_period_end=at("2026-03-01T00:00:00"), full_service_period_end=JAN.end,
            billing_period_end=JAN.end, invoice_at=JAN.start)}
    with pytest.raises(PreconditionFailed, match="retry after billing advances"):
        with store.unit_of_work() as uow:
            machine = charges.machine(ChargeContext(uow, ledger), lock_and_load(uow, NS, charge.id))
            machine.fire(trigger, **args)
    assert dump_tables(store) == before and ledger.calls == []


@pytest.mark.parametrize("patch, field", [
    (PeriodPatch(kind="shrink", service_period_end=at("2025-12-01T00:00:00"), full_service_period_end=JAN.end,
                 billing_period_end=JAN.end, invoice_at=JAN.start), "service_period_end"),
    (PeriodPatch(kind="extend", service_period_end=at("2026-01-20T00:00:00"), full_service_period_end=JAN.end,
                 billing_period_end=JAN.end, invoice_at=JAN.start), "service_period_end"),
    (PeriodPatch(kind="extend", service_period_end=at("2026-03-01T00:00:00"), full_service_period_end=JAN.end,
                 billing_period_end=at("2025-12-01T00:00:00"), invoice_at=JAN.start), "billing_period_end"),
])
def test_period_patch_bounds_are_validated(clock, store, charges, customer, patch, field):
    charge = charges.create(NS, flat_fee("100"))
    before = dump_tables(store)
    with pytest.raises(ChargeValidationError) as raised:
        charges.apply_patches(NS, request(**{charge.id: patch}))
    assert raised.value.field == field and charge.id in str(raised.value)
    assert dump_tables(store) == before


def test_patch_for_another_customers_charge_is_not_found(clock, charges, billing_service, customer):
    billing_service.create_customer(NS, "other", customer_id="cust-2")
    charge = charges.create(NS, flat_fee("100"))
    with pytest.raises(ChargeNotFoundError):
        charges.apply_patches(NS, ChargePatchRequest(customer_id="cust-2", patches_by_charge_id={charge.id: DeletePatch()}))
    with pytest.raises(ChargeNotFoundError):
        charges.apply_patches(NS, request(missing=DeletePatch()))


def test_extend_after_delete_of_the_same_identity_creates_last(clock, charges, customer):
    charge = charges.create(NS, flat_fee("100"))
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, creates=(flat_fee("120"),),
                                                 patches_by_charge_id={charge.id: DeletePatch()}))
    live = charges.list_customer_charges(NS, CUSTOMER, include_deleted=False)
    assert [c.base.amount_before_proration for c in live] == [Decimal(120)]


def test_a_live_duplicate_identity_is_a_conflict(clock, store, charges, customer):
    charges.create(NS, flat_fee("100"))
    before = dump_tables(store)
    with pytest.raises(ChargeConflictError):
        charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, creates=(flat_fee("100"),)))
    assert dump_tables(store) == before


@pytest.mark.parametrize("new, field", [
    (flat_fee("100", name=""), "name"),
    (flat_fee("100", identity=""), "unique_reference_id"),
    (flat_fee("100", currency="ZZZ"), "currency"),
    (flat_fee("100", cost_basis={"rate": "1"}), "cost_basis"),
    (flat_fee("100", billing_period=Period(start=JAN.end, end=JAN.start)), "billing_period"),
])
def test_creation_validation_names_the_field(clock, store, charges, customer, new, field):
    before = dump_tables(store)
    with pytest.raises(ChargeValidationError) as raised:
        charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, creates=(new,)))
    assert raised.value.field == field
    assert dump_tables(store) == before


def test_usage_charge_needs_a_metered_feature(clock, charges, customer):
    from tests.billing.charges.builders import usage_based

    with pytest.raises(ChargeValidationError) as raised:
        charges.create(NS, usage_based(feature_key="no-such-meter"))
    assert raised.value.field == "feature_key"


def test_override_hides_the_base_from_system_patches_c025(clock, charges, billing_service, customer, ledger):
    clock.set(at("2025-12-15T00:00:00"))
    charge = charges.create(NS, flat_fee("5"))
    override = charge.base.model_copy(update={"amount_before_proration": Decimal(7), "name": "edited"})
    charge = charges.set_override(NS, CUSTOMER, charge.id, override)
    ((_, line),) = lines_of(billing_service, charge.id)
    assert line.managed_by == "manual" and line.per_unit_amount == Decimal("7.00") and line.name == "edited"
    charges.apply_patches(NS, request(**{charge.id: shrink_to(at("2026-01-15T00:00:00"))}))
    hidden = charges.get_charge(NS, charge.id)
    assert hidden.base.service_period.end == at("2026-01-15T00:00:00")  # the base moved …
    assert hidden.effective.service_period == JAN and hidden.state == charge.state  # … the customer sees no change
    ((_, line),) = lines_of(billing_service, charge.id)
    assert line.per_unit_amount == Decimal("7.00")
    cleared = charges.clear_override(NS, CUSTOMER, charge.id)
    assert cleared.override is None and cleared.state["amount_after_proration"] == "2.26"  # 5 × 14 d / 31 d
    assert cleared.status == "created"
    ((_, line),) = [(i, l) for i, l in lines_of(billing_service, charge.id) if l.deleted_at is None]
    assert line.per_unit_amount == Decimal("2.26") and line.managed_by == "subscription"


def test_clear_override_of_a_hidden_deleted_base_deletes_the_charge(clock, charges, billing_service, customer):
    charge = charges.create(NS, flat_fee("5"))
    charges.set_override(NS, CUSTOMER, charge.id, charge.base.model_copy(update={"name": "edited"}))
    charges.apply_patches(NS, request(**{charge.id: DeletePatch()}))
    assert charges.get_charge(NS, charge.id).status == "created"  # hidden: only the base is deleted
    cleared = charges.clear_override(NS, CUSTOMER, charge.id)
    assert cleared.status == "deleted" and cleared.deleted_at is not None and cleared.base.intent_deleted_at is not None
    assert all(line.deleted_at is not None for _, line in lines_of(billing_service, charge.id))


def test_api_delete_of_a_subscription_charge_keeps_the_base_live_for_sync(clock, charges, customer):
    charge = charges.create(NS, flat_fee("5"))
    deleted = charges.delete(NS, CUSTOMER, charge.id)
    assert deleted.status == "deleted" and deleted.override is not None and deleted.override.intent_deleted_at is not None
    assert deleted.base.intent_deleted_at is None and deleted.deleted_at is None
    assert [c.id for c in charges.list_charges(NS, subscription_ids=["sub-1"])] == [charge.id]


class _Looping(FlatFeeCreditThenInvoice):
    """A machine whose every ``next`` asks billing for another gathering-line upsert."""

    rules = (rule(None, "next", guard="shrunk", action="again"), *FlatFeeCreditThenInvoice.rules)

    def shrunk(self, **_):  # type: ignore[no-untyped-def]
        return self.charge.base.service_period.end != JAN.end

    def again(self, **_):  # type: ignore[no-untyped-def]
        self.emit(UpsertGatheringLineByChargeId(charge_id=self.charge.id, currency="USD",
                                                line=flat_fee_line(self.charge, Decimal(1))))


def test_the_invoice_patch_loop_stops_after_100_rounds_and_rolls_back(clock, store, ledger, customer):
    service = ChargesService(store, ledger)
    charge = service.create(NS, flat_fee("100"))
    service.machines[("flat_fee", "credit_then_invoice")] = _Looping
    before = dump_tables(store)
    with pytest.raises(ChargeAdvanceLimitError, match="100 rounds"):
        service.apply_patches(NS, request(**{charge.id: shrink_to(at("2026-01-20T00:00:00"))}))
    assert dump_tables(store) == before
