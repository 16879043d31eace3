"""API deletes of charge-managed lines and invoices (charges.md §3.6, §4.5, §6.3; C-028, C-029, C-034,
C-035, C-037, C-043, C-044): deleted overrides keep the base live for sync, credits go back, the usage
tail shrinks the charge to its realized period; refusals change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.charges.context import ChargeContext
from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.repository import lock_and_load
from billing.charges.requests import ChargePatchRequest, PeriodPatch
from billing.lines import NewLine
from billing.prices import FlatPrice
from tests.billing.charges.api_helpers import gathering_line, invoices, line, lines_of, runs
from tests.billing.charges.builders import JAN, flat_fee, usage_based
from tests.billing.charges.conftest import CUSTOMER, NS, at, dump_tables, usage

MID = at("2026-01-15T00:00:00")
ONE_MINUTE = dt.timedelta(minutes=1)


def _cancel(charges, charge_id: str, cut: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    patch = PeriodPatch(kind="shrink", service_period_end=cut, full_service_period_end=JAN.end, billing_period_end=cut,
                        invoice_at=cut)
    charges.apply_patches(NS, ChargePatchRequest(customer_id=CUSTOMER, patches_by_charge_id={charge_id: patch}))


def _only_line(billing_service, invoice) -> object:  # type: ignore[no-untyped-def]
    (only,) = [line(billing_service, i) for i in invoice.line_ids or ()]
    return only


def _progressive(clock, billing_service, as_of: dt.datetime, *, pay: bool):  # type: ignore[no-untyped-def]
    """Invoice the usage up to ``as_of`` progressively; collect it (and approve and pay it when asked)."""
    clock.set(as_of)
    (invoice,) = billing_service.invoice_pending_lines(NS, CUSTOMER, as_of=as_of, progressive=True)
    if pay:
        clock.set(as_of + 2 * ONE_MINUTE)
        billing_service.advance_due_invoices(NS, CUSTOMER)
        billing_service.approve_invoice(NS, invoice.id)
        billing_service.payment_event(NS, invoice.id, "paid")
    return billing_service.get_invoice(NS, invoice.id)


# -- flat fees ----------------------------------------------------------------------------------------


def test_C_028_gathering_delete_is_a_deleted_override_and_a_cancel_shrinks_the_hidden_base(
        clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5", term="in_arrears"))
    row = gathering_line(billing_service, charge.id)
    deleted = billing_service.delete_line(NS, row.invoice_id, row.id, source="api")

    assert (deleted.id, deleted.managed_by) == (row.id, "manual") and deleted.deleted_at is not None
    assert invoices(billing_service, "gathering")[0].deleted_at is not None
    stored = charges.get_charge(NS, charge.id)
    assert stored.status == "deleted" and stored.deleted_at is None
    assert stored.base.intent_deleted_at is None and stored.override.intent_deleted_at is not None
    # Sync lists by base intent: the charge is still there for it, and never gets a line back.
    assert [c.id for c in charges.list_charges(NS, subscription_ids=["sub-1"])] == [charge.id]
    _cancel(charges, charge.id, MID)
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.base.service_period.end, stored.base.billing_period.end) == ("deleted", MID, MID)
    assert stored.override.intent_deleted_at is not None
    assert lines_of(billing_service, charge.id) == []


def test_C_034_draft_delete_returns_the_credits_and_detaches_the_run(clock, charges, billing_service, customer,
                                                                    ledger):
    ledger.credit = Decimal(2)
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("5", term="in_arrears"))
    clock.set(JAN.end)
    (draft,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    row = _only_line(billing_service, draft)
    assert ledger.credit == Decimal(0)

    deleted = billing_service.delete_line(NS, draft.id, row.id, source="api")
    assert deleted.managed_by == "manual" and deleted.deleted_at is not None
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.state.get("current_run_id")) == ("deleted", None)
    assert stored.base.intent_deleted_at is None and stored.override.intent_deleted_at is not None
    (run,) = runs(charges, charge.id)
    assert run.deleted_at is not None and run.net_allocations == 0
    assert ledger.credit == Decimal(2)
    assert billing_service.get_invoice(NS, draft.id).status == "deleted"  # its last line went


def test_C_037_api_deletion_of_a_flat_fee_draft_then_a_cancel_shrinks_the_hidden_base(
        clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("7", term="in_arrears"))
    clock.set(JAN.end)
    (draft,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    assert charges.get_charge(NS, charge.id).status == "active.realization.processing"

    returned = billing_service.delete_invoice(NS, draft.id, source="api")
    assert returned.status == "deleted" and returned.deleted_at is not None
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.state.get("current_run_id")) == ("deleted", None)
    assert stored.base.intent_deleted_at is None and stored.override.intent_deleted_at is not None
    _cancel(charges, charge.id, MID)
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.base.service_period.end, stored.base.billing_period.end) == ("deleted", MID, MID)
    assert [i for i in invoices(billing_service, "gathering") if i.deleted_at is None] == []


def test_api_deletion_of_a_draft_with_a_plain_line_next_to_a_charge_line(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("7", term="in_arrears"))
    clock.set(JAN.end)
    (draft,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    plain = billing_service.create_line(NS, draft.id, NewLine(
        name="setup", service_period=JAN, invoice_at=JAN.end, price=FlatPrice(amount=Decimal(1))), source="api")
    returned = billing_service.delete_invoice(NS, draft.id, source="api")
    assert returned.status == "deleted"
    assert line(billing_service, plain.id).engine == "invoicing"
    assert charges.get_charge(NS, charge.id).status == "deleted"


def test_system_deletion_of_a_draft_whose_flat_run_is_current_is_refused(clock, charges, billing_service, customer,
                                                                        store):
    clock.set(JAN.start)
    charges.create(NS, flat_fee("7", term="in_arrears"))
    clock.set(JAN.end)
    (draft,) = billing_service.invoice_pending_lines(NS, CUSTOMER)
    before = dump_tables(store)
    with pytest.raises(PreconditionFailed, match="current run"):
        billing_service.delete_invoice(NS, draft.id, source="system")
    assert dump_tables(store) == before


def test_system_deletion_of_a_gathering_invoice_with_charge_lines_is_refused(clock, charges, billing_service,
                                                                           customer, store):
    clock.set(JAN.start)
    charge = charges.create(NS, flat_fee("7"))
    before = dump_tables(store)
    with pytest.raises(PreconditionFailed, match="through their charges"):
        billing_service.delete_invoice(NS, gathering_line(billing_service, charge.id).invoice_id, source="system")
    assert dump_tables(store) == before


def test_api_deletion_of_the_gathering_invoice_deletes_each_charge_line(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    flat = charges.create(NS, flat_fee("7"))
    metered = charges.create(NS, usage_based("1"))
    returned = billing_service.delete_invoice(NS, gathering_line(billing_service, flat.id).invoice_id, source="api")
    assert returned.deleted_at is not None
    for charge_id in (flat.id, metered.id):
        stored = charges.get_charge(NS, charge_id)
        assert stored.status == "deleted" and stored.override.intent_deleted_at is not None
        (tombstone,) = lines_of(billing_service, charge_id, live=False)
        assert tombstone.deleted_at is not None and tombstone.managed_by == "manual"


# -- usage charges --------------------------------------------------------------------------------------


def test_C_029_usage_gathering_delete_without_runs_deletes_the_charge(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("5"))
    row = gathering_line(billing_service, charge.id)
    billing_service.delete_line(NS, row.invoice_id, row.id, source="api")
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.realizations, stored.deleted_at) == ("deleted", (), None)
    assert stored.base.intent_deleted_at is None and stored.override.intent_deleted_at is not None
    _cancel(charges, charge.id, MID)
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.base.service_period.end, stored.realizations) == ("deleted", MID, ())


def test_C_044_api_delete_of_the_progressive_tail_shrinks_the_charge_to_its_realized_period(
        clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("10"))
    usage(billing_service, ("2026-01-01T00:00:00", "1"), ("2026-01-12T09:30:00", "1"))
    paid = _progressive(clock, billing_service, MID, pay=True)
    assert paid.status == "paid"
    tail = gathering_line(billing_service, charge.id)
    assert tail.service_period.start == MID

    deleted = billing_service.delete_line(NS, tail.invoice_id, tail.id, source="api")
    assert deleted.deleted_at is not None and deleted.managed_by == "manual"
    stored = charges.get_charge(NS, charge.id)
    assert stored.status == "active"
    assert stored.base.service_period == JAN and stored.override.service_period.end == MID
    (run,) = [run for run in runs(charges, charge.id) if not run.voided]
    assert (run.type, run.initial_type, run.deleted_at) == ("final_realization", "partial_invoice", None)
    assert lines_of(billing_service, charge.id, kind="gathering") == []
    assert billing_service.get_invoice(NS, paid.id).status == "paid"
    # The next charge-advance pass finishes the charge: its only run is paid.
    charges.advance_charges(NS, CUSTOMER)
    assert charges.get_charge(NS, charge.id).status == "final"


def test_shrink_to_realized_period_must_end_at_the_latest_run(clock, charges, billing_service, customer, store, ledger):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("10"))
    _progressive(clock, billing_service, MID, pay=True)
    before = dump_tables(store)
    with pytest.raises(ChargeValidationError, match="latest realization run") as caught:
        with store.unit_of_work() as uow:
            machine = charges.machine(ChargeContext(uow, ledger), lock_and_load(uow, NS, charge.id))
            machine.fire("shrink_to_realized_period", end=at("2026-01-20T00:00:00"))
    assert caught.value.field == "end"
    assert dump_tables(store) == before


def test_usage_draft_line_delete_is_refused_while_the_charge_has_another_run(clock, charges, billing_service,
                                                                           customer, store):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("10"))
    usage(billing_service, ("2026-01-02T00:00:00", "1"), ("2026-01-16T00:00:00", "3"))
    _progressive(clock, billing_service, MID, pay=True)
    second = _progressive(clock, billing_service, at("2026-01-18T00:00:00"), pay=False)
    row = _only_line(billing_service, second)
    before = dump_tables(store)
    with pytest.raises(PreconditionFailed, match="other realization run"):
        billing_service.delete_line(NS, second.id, row.id, source="api")
    assert dump_tables(store) == before
    assert charges.get_charge(NS, charge.id).override is None


def test_C_035_api_deletion_of_a_progressive_draft_holding_the_only_run(clock, charges, billing_service, customer):
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("5"))
    flat = charges.create(NS, flat_fee("7", term="in_arrears", identity="sub-1/p/flat/v[0]/period[1]"))
    usage(billing_service, ("2026-01-02T00:00:00", "10"))
    draft = _progressive(clock, billing_service, at("2026-01-15T00:00:01"), pay=False)
    assert [row.charge_id for row in map(lambda i: line(billing_service, i), draft.line_ids or ())] == [charge.id]

    returned = billing_service.delete_invoice(NS, draft.id, source="api")
    assert returned.status == "deleted" and returned.deleted_at is not None
    stored = charges.get_charge(NS, charge.id)
    assert stored.status == "deleted"
    assert stored.base.intent_deleted_at is None and stored.override.intent_deleted_at is not None
    (run,) = runs(charges, charge.id)
    assert run.deleted_at is not None
    assert charges.get_charge(NS, flat.id).status == "created"


def test_C_043_system_deletion_of_a_progressive_draft_also_deletes_the_gathering_tail(
        clock, charges, billing_service, customer, ledger):
    ledger.credit = Decimal(25)
    clock.set(JAN.start)
    charge = charges.create(NS, usage_based("10"))
    usage(billing_service, ("2026-01-01T00:00:00", "1"), ("2026-01-12T09:30:00", "1"),
          ("2026-01-15T11:00:00", "3"), ("2026-01-18T12:30:00", "7"))
    _progressive(clock, billing_service, MID, pay=True)
    second = _progressive(clock, billing_service, at("2026-01-18T00:00:00"), pay=False)
    assert gathering_line(billing_service, charge.id).service_period.start == at("2026-01-18T00:00:00")
    assert ledger.credit == 0 and runs(charges, charge.id)[1].net_allocations == Decimal(5)  # 20 + 5 of 30

    returned = billing_service.delete_invoice(NS, second.id, source="system")
    assert returned.status == "deleted" and returned.deleted_at is not None
    assert len(billing_service.get_invoice(NS, second.id).lines or ()) == 1
    assert lines_of(billing_service, charge.id, kind="gathering") == []
    stored = charges.get_charge(NS, charge.id)
    assert (stored.status, stored.state.get("current_run_id"), stored.override) == ("active", None, None)
    first, deleted = runs(charges, charge.id)
    assert first.deleted_at is None and deleted.deleted_at is not None and deleted.invoice_id == second.id
    assert deleted.net_allocations == 0 and ledger.credit == Decimal(5)
