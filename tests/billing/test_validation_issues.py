"""upsert_validation_issues: replaces an immutable invoice's issue list, deduped by content."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from billing.errors import ConflictError
from billing.invoices import ValidationIssue
from billing.store.tables import ValidationIssueRow
from tests.billing.builders import CUSTOMER, NS, at, flat_line, make_customer


def issue(path: str, message: str = "line should be deleted, but the invoice is immutable") -> ValidationIssue:
    return ValidationIssue(severity="warning", code="immutable_invoice_handling_not_supported", message=message,
                           component="subscription-sync", path=path)


@pytest.fixture
def paid_invoice(billing_service, clock):
    make_customer(billing_service)
    billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    clock.set(at(1, 2))
    [invoice] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    clock.set(at(1, 3))
    return billing_service.advance_invoice(NS, invoice.id)


def stored_rows(store, invoice_id):  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        return connection.execute(
            select(ValidationIssueRow.path, ValidationIssueRow.deleted_at)
            .where(ValidationIssueRow.invoice_id == invoice_id).order_by(ValidationIssueRow.sequence)
        ).all()


def test_upsert_replaces_the_list_dedupes_and_soft_deletes_the_missing(billing_service, store, paid_invoice, clock):
    a, b, c = issue("lines/a"), issue("lines/b"), issue("lines/c")
    billing_service.upsert_validation_issues(NS, paid_invoice.id, [a, b, a])
    assert billing_service.get_invoice(NS, paid_invoice.id).validation_issues == (a, b)

    clock.set(at(1, 4))
    billing_service.upsert_validation_issues(NS, paid_invoice.id, [b, c])
    [listed] = billing_service.list_invoices(NS, [paid_invoice.id])
    assert listed.validation_issues == (b, c)
    rows = stored_rows(store, paid_invoice.id)
    assert [(path, deleted is not None) for path, deleted in rows] == [
        ("lines/a", True), ("lines/b", False), ("lines/c", False)]

    billing_service.upsert_validation_issues(NS, paid_invoice.id, [])
    assert billing_service.get_invoice(NS, paid_invoice.id).validation_issues == ()


def test_issues_differing_only_in_message_are_distinct(billing_service, paid_invoice):
    first, second = issue("lines/a", "x"), issue("lines/a", "y")
    billing_service.upsert_validation_issues(NS, paid_invoice.id, [first, second])
    assert billing_service.get_invoice(NS, paid_invoice.id).validation_issues == (first, second)


def test_mutable_and_gathering_invoices_refuse_issues(billing_service, clock):
    make_customer(billing_service)
    [line] = billing_service.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line()])
    with pytest.raises(ConflictError, match="gathering"):
        billing_service.upsert_validation_issues(NS, line.invoice_id, [issue("lines/a")])
    clock.set(at(1, 2))
    [draft] = billing_service.invoice_pending_lines(NS, CUSTOMER)
    with pytest.raises(ConflictError, match="mutable"):
        billing_service.upsert_validation_issues(NS, draft.id, [issue("lines/a")])
