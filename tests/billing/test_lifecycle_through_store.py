"""Every transition of billing.md §1, driven through the store, including the illegal ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import IllegalTransitionError
from tests.billing.builders import CUSTOMER, NS, at, db_snapshot, flat_line, make_customer


def new_invoice(billing, clock, **profile):  # type: ignore[no-untyped-def]
    make_customer(billing, **profile)
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    clock.set(at(1, 2))
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    return invoice


def fire(billing, invoice, action):  # type: ignore[no-untyped-def]
    if action in ("authorized", "paid", "failed", "uncollectible"):
        return billing.payment_event(NS, invoice.id, action)
    return {"approve": billing.approve_invoice, "advance": billing.advance_invoice,
            "void": billing.void_invoice}[action](NS, invoice.id) if action != "delete" else billing.delete_invoice(NS, invoice.id, source="api")


def test_creation_waits_for_collection_then_collects(billing_service, clock):
    invoice = new_invoice(billing_service, clock, interval="PT2H")
    assert invoice.status == "draft.waiting_for_collection" and not invoice.immutable
    with pytest.raises(IllegalTransitionError, match="collection is open"):
        billing_service.advance_invoice(NS, invoice.id)
    forced = billing_service.advance_invoice(NS, invoice.id, force=True)
    assert forced.status == "draft.waiting_auto_approval" and forced.collected_at == at(1, 2)


def test_auto_advance_off_needs_approval(billing_service, clock):
    invoice = new_invoice(billing_service, clock, auto_advance=False)
    assert invoice.status == "draft.manual_approval_needed"
    clock.set(at(1, 20))
    with pytest.raises(IllegalTransitionError):
        billing_service.advance_invoice(NS, invoice.id)
    approved = billing_service.approve_invoice(NS, invoice.id)
    assert approved.status == "paid" and approved.issued_at == at(1, 20) and approved.due_at == at(1, 27)


def test_draft_period_then_issue_with_auto_payment(billing_service, clock):
    invoice = new_invoice(billing_service, clock)
    assert invoice.status == "draft.waiting_auto_approval"
    with pytest.raises(IllegalTransitionError, match="draft period"):
        billing_service.advance_invoice(NS, invoice.id)
    clock.set(at(1, 3))
    paid = billing_service.advance_invoice(NS, invoice.id)
    assert paid.status == "paid" and paid.immutable and paid.totals.total == Decimal("5.00")


def test_a_zero_draft_period_issues_at_creation(billing_service, clock):
    invoice = new_invoice(billing_service, clock, draft_period="PT0S", payment_app="manual")
    assert invoice.status == "payment_processing.pending" and invoice.immutable


@pytest.mark.parametrize(
    "events, final",
    [
        (["authorized", "paid"], "paid"),
        (["paid"], "paid"),
        (["failed", "authorized", "paid"], "paid"),
        (["authorized", "failed", "paid"], "paid"),
        (["failed", "uncollectible", "void"], "voided"),
        (["uncollectible"], "uncollectible"),
        (["authorized", "void"], "voided"),
        (["void"], "voided"),
    ],
)
def test_manual_payment_app_paths(billing_service, clock, events, final):
    invoice = new_invoice(billing_service, clock, payment_app="manual")
    pending = billing_service.approve_invoice(NS, invoice.id)
    assert pending.status == "payment_processing.pending"
    for event in events:
        invoice = fire(billing_service, pending, event)
    assert invoice.status == final and invoice.immutable


@pytest.mark.parametrize(
    "path, illegal",
    [
        ([], "authorized"),                      # a draft takes no payment event
        ([], "void"),                            # a draft cannot be voided
        (["approve"], "approve"),                # pending cannot be approved again
        (["approve"], "delete"),                 # issued invoices are not deleted
        (["approve", "authorized"], "uncollectible"),
        (["approve", "authorized"], "authorized"),
        (["approve", "failed"], "failed"),
        (["approve", "paid"], "void"),           # paid is final
        (["approve", "paid"], "paid"),
        (["approve", "void"], "paid"),           # voided is final
        (["delete"], "approve"),                 # deleted is final
    ],
)
def test_illegal_transitions_raise_and_change_nothing(billing_service, store, clock, path, illegal):
    invoice = new_invoice(billing_service, clock, payment_app="manual")
    for action in path:
        fire(billing_service, invoice, action)
    before = db_snapshot(store)
    with pytest.raises(IllegalTransitionError):
        fire(billing_service, invoice, illegal)
    assert db_snapshot(store) == before


@pytest.mark.parametrize(
    "profile, draft",
    [({"interval": "P1D"}, "draft.waiting_for_collection"), ({}, "draft.waiting_auto_approval"),
     ({"auto_advance": False}, "draft.manual_approval_needed")],
)
@pytest.mark.parametrize("source", ["api", "system"])
def test_any_draft_can_be_deleted(billing_service, clock, profile, draft, source):
    invoice = new_invoice(billing_service, clock, **profile)
    assert invoice.status == draft
    deleted = billing_service.delete_invoice(NS, invoice.id, source=source)
    assert deleted.status == "deleted" and deleted.immutable and deleted.deleted_at == at(1, 2)


def test_gathering_invoices_have_no_state_machine(billing_service):
    make_customer(billing_service)
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    with pytest.raises(IllegalTransitionError, match="gathering"):
        billing_service.approve_invoice(NS, line.invoice_id)


def test_advance_due_invoices_moves_every_invoice_time_allows(billing_service, clock):
    invoice = new_invoice(billing_service, clock)
    assert billing_service.advance_due_invoices(NS, CUSTOMER) == []
    clock.set(at(1, 3))
    [advanced] = billing_service.advance_due_invoices(NS, CUSTOMER)
    assert advanced.id == invoice.id and advanced.status == "paid"
