"""Standard invoices: updates of mutable drafts and deletion of invoices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import structlog

from billing.errors import BillingValidationError, ConflictError
from billing.charges.hooks import Moment, dispatch
from billing.invoice_lifecycle import InvoiceTrigger, can_fire
from billing.invoices import Invoice
from billing.lines import Line
from billing.operations.gathering import delete_and_replace_lines, delete_gathering_if_empty
from billing.operations.rerating import recalculate
from billing.operations.transitions import fire
from billing.store.tables import InvoiceRow
from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


def mutable_standard(uow: UnitOfWork, namespace: str, invoice_id: str, *, where: str) -> InvoiceRow:
    invoice = uow.invoices.require_row(namespace, invoice_id)
    if invoice.kind != "standard":
        raise BillingValidationError(f"{where}: invoice {invoice_id!r} is a gathering invoice, not a standard one")
    if invoice.immutable:
        raise ConflictError(f"{where}: invoice {invoice_id!r} is immutable (status {invoice.status}); its lines cannot change")
    return invoice


def delete_draft_if_empty(uow: UnitOfWork, invoice: InvoiceRow) -> bool:
    """A draft standard invoice whose last live line went becomes ``deleted``; True when it did."""
    if invoice.immutable or uow.invoices.line_rows(invoice.id, include_deleted=False):
        return False
    fire(uow, invoice, InvoiceTrigger.LAST_LINE_REMOVED)
    return True


def update_standard_invoice(
    uow: UnitOfWork,
    namespace: str,
    invoice_id: str,
    *,
    delete_line_ids: Sequence[str] = (),
    replace_lines: Sequence[Line] = (),
) -> Invoice:
    """Delete and replace lines of a mutable standard invoice, then rerate it.

    Quantities are taken as given (the applier snapshots them through the line engine first).
    """
    where = f"update_standard_invoice({invoice_id})"
    invoice = mutable_standard(uow, namespace, invoice_id, where=where)
    uow.lock_customer(namespace, invoice.customer_id)
    delete_and_replace_lines(uow, invoice, delete_line_ids, replace_lines, where=where)
    delete_draft_if_empty(uow, invoice)
    uow.flush()
    return uow.invoices.model(invoice)


def delete_invoice(
    uow: UnitOfWork, namespace: str, invoice_id: str, *, source: Literal["api", "system"] = "system"
) -> Invoice:
    """Delete a gathering invoice (its live lines are soft-deleted) or a draft standard invoice.

    A standard invoice already ``deleted`` is returned unchanged when the system asks again (the
    applier deletes drafts an update already emptied); an API deletion of it is illegal. Charge lines
    go to their charges first (``billing.charges.invoice_deletion``); engines may refuse (a
    credit-purchase line is never deleted).
    """
    from billing.charges.invoice_deletion import delete_invoice_lines  # charges import operations: bound late

    invoice = uow.invoices.require_row(namespace, invoice_id)
    uow.lock_customer(namespace, invoice.customer_id)
    if invoice.kind == "gathering":
        if invoice.deleted_at is not None:
            raise ConflictError(f"delete_invoice: gathering invoice {invoice_id!r} is already deleted")
        delete_invoice_lines(uow, invoice, source=source)
        remaining = uow.invoices.line_rows(invoice.id, include_deleted=False)
        dispatch(uow, Moment.INVOICE_DELETED, invoice, remaining)  # an engine may refuse (charges.md §5.6.7)
        for row in remaining:
            row.deleted_at = uow.now
            row.updated_at = uow.now
            if source == "api":
                row.managed_by = "manual"
        recalculate(uow, invoice)
        delete_gathering_if_empty(uow, invoice)
    elif invoice.status == "deleted" and source == "system":
        log.info("billing.invoice.delete_noop", invoice_id=invoice.id, customer_id=invoice.customer_id)
    else:
        emptied = False
        if can_fire(invoice.status, InvoiceTrigger.DELETE):
            # Charge lines go to their charges first (charges.md §3.6, §6.3); the last one may take the
            # draft with it.
            delete_invoice_lines(uow, invoice, source=source)
            emptied = invoice.status == "deleted"
        if not emptied:
            fire(uow, invoice, InvoiceTrigger.DELETE)
    uow.flush()
    return uow.invoices.model(invoice)
