"""The gathering invoice: pending lines, updates, and its automatic soft deletion.

A customer has at most one live gathering invoice per currency (a partial unique index backs it). It
is created on demand when lines are added and soft-deleted in the same transaction that removes its
last live line.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from billing.errors import BillingValidationError, ConflictError, NotFoundError
from billing.invoices import GATHERING_STATUS, Invoice
from billing.lines import GatheringLine, Line, LineContent, NewLine
from billing.operations.normalize import normalize_line, require_valid_line
from billing.operations.rerating import rate_appended_gathering_lines, recalculate
from billing.store.mapping import line_of, write_line_content
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


def gathering_invoice_row(uow: UnitOfWork, namespace: str, customer_id: str, currency: str) -> InvoiceRow:
    """The live gathering invoice for the currency, created when there is none."""
    row = uow.invoices.live_gathering_row(namespace, customer_id, currency)
    if row is None:
        row = uow.invoices.insert(
            namespace=namespace,
            customer_id=customer_id,
            kind="gathering",
            status=GATHERING_STATUS,
            immutable=False,
            currency=currency,
            now=uow.now,
        )
        log.info("billing.gathering_invoice.created", customer_id=customer_id, invoice_id=row.id, currency=currency)
    return row


def check_group_reference(uow: UnitOfWork, namespace: str, line: LineContent, *, where: str) -> None:
    """A line naming a split-line group must name a live one and carry no identity of its own."""
    if line.split_line_group_id is None:
        return
    group = uow.groups.row(namespace, line.split_line_group_id)
    if group is None:
        raise NotFoundError(f"{where}: line {line.name!r} names split-line group {line.split_line_group_id!r}, which does not exist")
    if group.deleted_at is not None:
        raise ConflictError(f"{where}: line {line.name!r} names split-line group {group.id!r}, which is deleted")
    if line.child_unique_reference_id is not None:
        raise BillingValidationError(
            f"{where}: split child {line.name!r} of group {group.id!r} must not carry an identity "
            f"(got {line.child_unique_reference_id!r}); the group carries it"
        )


def create_pending_invoice_lines(
    uow: UnitOfWork, namespace: str, customer_id: str, currency: str, lines: Sequence[NewLine]
) -> list[GatheringLine]:
    where = "create_pending_invoice_lines"
    customer = uow.customers.get(namespace, customer_id)
    uow.lock_customer(namespace, customer_id)
    if not lines:
        return []
    normalized = [normalize_line(line) for line in lines]
    for line in normalized:
        require_valid_line(line, where=where)
        check_group_reference(uow, namespace, line, where=where)
        if customer.deleted_at is not None and line.service_period.end > customer.deleted_at:
            raise BillingValidationError(
                f"{where}: line {line.child_unique_reference_id or line.name!r} ends {line.service_period.end.isoformat()},"
                f" after customer {customer_id!r} was deleted ({customer.deleted_at.isoformat()})"
            )
    invoice = gathering_invoice_row(uow, namespace, customer_id, currency)
    rows = [uow.lines.insert(invoice, line, uow.now) for line in normalized]
    rate_appended_gathering_lines(uow, invoice, rows)
    uow.flush()
    return [line_of(row, "gathering") for row in rows]  # type: ignore[misc]


def lines_on(uow: UnitOfWork, invoice: InvoiceRow, line_ids: Sequence[str], *, where: str) -> dict[str, LineRow]:
    rows = uow.lines.rows(invoice.namespace, line_ids)
    for line_id in line_ids:
        row = rows.get(line_id)
        if row is None or row.invoice_id != invoice.id:
            raise NotFoundError(f"{where}: line {line_id!r} is not on invoice {invoice.id!r}")
    return rows


def delete_and_replace_lines(
    uow: UnitOfWork, invoice: InvoiceRow, delete_line_ids: Sequence[str], replace_lines: Sequence[Line], *, where: str
) -> None:
    """The body of an invoice update: soft-delete lines (already deleted ones stay as they are), replace
    lines with their new content, then rerate the invoice."""
    rows = lines_on(uow, invoice, [*delete_line_ids, *(line.id for line in replace_lines)], where=where)
    for line_id in delete_line_ids:
        row = rows[line_id]
        if row.deleted_at is None:
            row.deleted_at = uow.now
            row.updated_at = uow.now
    for line in replace_lines:
        replace_line(uow, rows[line.id], line, where=where)
    uow.flush()
    recalculate(uow, invoice)


def replace_line(uow: UnitOfWork, row: LineRow, line: Line, *, where: str) -> None:
    """Write ``line``'s content (and its deletion state) over the stored row."""
    normalized = normalize_line(line)
    require_valid_line(normalized, where=where)
    if normalized.split_line_group_id is not None and normalized.split_line_group_id != row.split_line_group_id:
        check_group_reference(uow, row.namespace, normalized, where=where)
    write_line_content(row, normalized)
    row.deleted_at = normalized.deleted_at
    row.updated_at = uow.now


def delete_gathering_if_empty(uow: UnitOfWork, invoice: InvoiceRow) -> bool:
    """Soft-delete a gathering invoice that has no live line left; True when it did."""
    if invoice.deleted_at is not None or uow.invoices.line_rows(invoice.id, include_deleted=False):
        return False
    invoice.deleted_at = uow.now
    invoice.updated_at = uow.now
    log.info("billing.gathering_invoice.deleted", customer_id=invoice.customer_id, invoice_id=invoice.id)
    return True


def live_gathering(uow: UnitOfWork, namespace: str, invoice_id: str, *, where: str) -> InvoiceRow:
    invoice = uow.invoices.require_row(namespace, invoice_id)
    if invoice.kind != "gathering":
        raise BillingValidationError(f"{where}: invoice {invoice_id!r} is a {invoice.kind} invoice, not a gathering one")
    if invoice.deleted_at is not None:
        raise ConflictError(f"{where}: gathering invoice {invoice_id!r} is deleted")
    return invoice


def update_gathering_invoice(
    uow: UnitOfWork,
    namespace: str,
    invoice_id: str,
    *,
    delete_line_ids: Sequence[str] = (),
    replace_lines: Sequence[Line] = (),
) -> Invoice:
    where = f"update_gathering_invoice({invoice_id})"
    invoice = live_gathering(uow, namespace, invoice_id, where=where)
    uow.lock_customer(namespace, invoice.customer_id)
    delete_and_replace_lines(uow, invoice, delete_line_ids, replace_lines, where=where)
    delete_gathering_if_empty(uow, invoice)
    uow.flush()
    return uow.invoices.model(invoice)
