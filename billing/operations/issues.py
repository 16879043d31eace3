"""Validation issues on immutable standard invoices (reconciler §1.4)."""

from __future__ import annotations

from collections.abc import Sequence

from billing.errors import ConflictError
from billing.invoices import ValidationIssue
from billing.store.unit_of_work import UnitOfWork


def upsert_validation_issues(uow: UnitOfWork, namespace: str, invoice_id: str, issues: Sequence[ValidationIssue]) -> None:
    """Replace the invoice's live issue list: dedupe by content, soft-delete those not in ``issues``."""
    invoice = uow.invoices.require_row(namespace, invoice_id)
    if invoice.kind != "standard" or not invoice.immutable:
        raise ConflictError(
            f"upsert_validation_issues: invoice {invoice_id!r} is {'gathering' if invoice.kind == 'gathering' else 'mutable (status ' + invoice.status + ')'};"
            " validation issues are written on immutable standard invoices only"
        )
    uow.lock_customer(namespace, invoice.customer_id)
    uow.invoices.replace_issues(invoice, issues, uow.now)
