"""Updates of standard invoices: mutable drafts are updated and rerated, immutable ones refuse, and
a draft whose last live line goes becomes ``deleted``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import BillingValidationError, ConflictError, IllegalTransitionError
from billing.usage import NewUsageEvent
from tests.billing.builders import CUSTOMER, NS, at, db_snapshot, flat_line, make_customer, period, usage_line


def draft_invoice(billing, clock, **profile):  # type: ignore[no-untyped-def]
    make_customer(billing, **profile)
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(), usage_line()])
    billing.ingest_usage(NS, CUSTOMER, "api", [NewUsageEvent(time=at(1, 5), value=Decimal(4)),
                                                 NewUsageEvent(time=at(1, 25), value=Decimal(6))])
    clock.set(at(2))
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    return invoice


def test_update_replaces_lines_and_rerates(billing_service, clock):
    invoice = draft_invoice(billing_service, clock)
    fee, api = sorted(invoice.lines, key=lambda l: l.name != "fee")
    shrunk = api.model_copy(update={"service_period": period(at(1), at(1, 20)), "quantity": Decimal(4)})
    prorated = fee.model_copy(update={"per_unit_amount": Decimal("2.50")})
    updated = billing_service.update_standard_invoice(NS, invoice.id, replace_lines=[shrunk, prorated])
    by_id = {line.id: line for line in updated.lines}
    assert by_id[api.id].service_period == period(at(1), at(1, 20))
    assert by_id[api.id].totals.total == Decimal("2.00")
    assert by_id[fee.id].totals.total == Decimal("2.50")
    assert updated.totals.total == Decimal("4.50")
    assert updated.status == invoice.status


def test_snapshot_line_quantity_meters_the_lines_period(billing_service, clock):
    invoice = draft_invoice(billing_service, clock)
    api = next(line for line in invoice.lines if line.name == "api")
    probe = api.model_copy(update={"service_period": period(at(1), at(1, 20))})
    assert billing_service.snapshot_line_quantity(invoice, probe).quantity == 4
    assert billing_service.snapshot_line_quantity(invoice, api).quantity == 10
    fee = next(line for line in invoice.lines if line.name == "fee")
    assert billing_service.snapshot_line_quantity(invoice, fee) == fee


def test_removing_the_last_live_line_deletes_the_draft(billing_service, clock):
    invoice = draft_invoice(billing_service, clock)
    ids = [line.id for line in invoice.lines]
    partly = billing_service.update_standard_invoice(NS, invoice.id, delete_line_ids=ids[:1])
    assert partly.status == "draft.waiting_auto_approval"
    emptied = billing_service.update_standard_invoice(NS, invoice.id, delete_line_ids=ids[1:])
    assert emptied.status == "deleted" and emptied.immutable and emptied.deleted_at == at(2)
    assert emptied.totals.total == 0
    # The applier deletes an emptied draft afterwards: a system delete of a deleted invoice is a no-op.
    assert billing_service.delete_invoice(NS, invoice.id, source="system").status == "deleted"
    with pytest.raises(IllegalTransitionError):
        billing_service.delete_invoice(NS, invoice.id, source="api")


def test_immutable_invoices_refuse_updates_and_nothing_changes(billing_service, store, clock):
    invoice = draft_invoice(billing_service, clock)
    clock.set(at(2, 2))
    issued = billing_service.advance_invoice(NS, invoice.id)
    assert issued.status == "paid" and issued.immutable
    before = db_snapshot(store)
    with pytest.raises(ConflictError, match="immutable"):
        billing_service.update_standard_invoice(NS, invoice.id, delete_line_ids=[issued.lines[0].id])
    assert db_snapshot(store) == before


def test_update_standard_refuses_gathering_invoices(billing_service):
    make_customer(billing_service)
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    with pytest.raises(BillingValidationError, match="gathering"):
        billing_service.update_standard_invoice(NS, line.invoice_id, delete_line_ids=[line.id])


def test_delete_invoice_of_a_draft_keeps_its_lines_and_a_gathering_delete_soft_deletes_them(billing_service, clock):
    invoice = draft_invoice(billing_service, clock)
    deleted = billing_service.delete_invoice(NS, invoice.id, source="api")
    assert deleted.status == "deleted" and deleted.deleted_at is not None
    assert all(line.deleted_at is None for line in deleted.lines)

    [pending] = billing_service.create_pending_invoice_lines(
        NS, CUSTOMER, "USD", [flat_line("sub-1/default/fee/v[0]/period[1]", service_period=period(at(2), at(3)))])
    gone = billing_service.delete_invoice(NS, pending.invoice_id, source="api")
    assert gone.deleted_at is not None
    [line] = gone.lines
    assert line.deleted_at is not None and line.managed_by == "manual"
