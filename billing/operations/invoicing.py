"""Invoicing pending lines: gathering lines due by ``as_of`` become standard invoices.

Per customer and currency, the live gathering lines with ``invoice_at ≤ as_of`` move onto a new
standard invoice (several when ``max_lines_per_invoice`` is set). With progressive billing, usage
lines whose period contains ``as_of`` are split there first and their pre-split part is invoiced.
Moved usage lines get their quantity snapshotted and every line is rated; the invoice then takes its
first resting status (collected at once when the collection interval is zero). A gathering invoice
left without live lines is soft-deleted in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

import structlog

from billing.charges.hooks import Moment, dispatch
from billing.customers import add_duration
from billing.errors import NothingToInvoiceError
from billing.invoice_lifecycle import InvoiceStatus
from billing.invoices import Invoice
from billing.operations.gathering import delete_gathering_if_empty
from billing.operations.progressive import can_split, split_line
from billing.operations.rerating import recalculate, snapshot_quantity
from billing.operations.transitions import start
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork
from billing.types import require_utc, truncate_to_second

log = structlog.get_logger(__name__)


def invoice_pending_lines(
    uow: UnitOfWork,
    namespace: str,
    customer_id: str,
    *,
    as_of: dt.datetime | None = None,
    progressive: bool | None = None,
    max_lines_per_invoice: int | None = None,
    include_line_ids: Collection[str] | None = None,
) -> list[Invoice]:
    """``include_line_ids`` invoices only those gathering lines (a credit purchase invoiced at once,
    charges.md §5.6.4); each must be live and billable as of ``as_of``, else nothing is invoiced."""
    customer = uow.customers.get(namespace, customer_id)
    uow.lock_customer(namespace, customer_id)
    as_of = uow.now if as_of is None else require_utc(as_of, field="as_of")
    if progressive is None:
        progressive = customer.billing_profile.invoicing.progressive_billing
    if max_lines_per_invoice is not None and max_lines_per_invoice < 1:
        raise ValueError(f"max_lines_per_invoice must be positive, got {max_lines_per_invoice}")

    due: dict[str, list[LineRow]] = defaultdict(list)
    gathering = [row for row in uow.invoices.customer_rows(namespace, customer_id, kind="gathering") if row.deleted_at is None]
    for invoice in gathering:
        for line in uow.invoices.line_rows(invoice.id, include_deleted=False):
            if include_line_ids is not None and line.id not in include_line_ids:
                continue
            if line.invoice_at <= as_of:
                due[invoice.currency].append(line)
            elif progressive and can_split(line, as_of):
                pre = split_line(uow, invoice, line, truncate_to_second(as_of))
                if pre is not None:
                    due[invoice.currency].append(pre)
    if include_line_ids is not None:
        found = {line.id for lines in due.values() for line in lines}
        missing = sorted(set(include_line_ids) - found)
        if missing:
            raise NothingToInvoiceError(
                f"customer {customer_id!r}: lines {', '.join(missing)} are not billable gathering lines as of"
                f" {as_of.isoformat()}"
            )
    if not due:
        raise NothingToInvoiceError(
            f"customer {customer_id!r} has no gathering line to invoice as of {as_of.isoformat()}"
        )

    created: list[InvoiceRow] = []
    for currency in sorted(due):
        lines = sorted(due[currency], key=lambda row: (row.service_period_start, row.service_period_end, row.sequence))
        size = max_lines_per_invoice or len(lines)
        for chunk_start in range(0, len(lines), size):
            created.append(_standard_invoice(uow, namespace, customer_id, currency, lines[chunk_start:chunk_start + size]))
    for invoice in gathering:
        recalculate(uow, invoice)
        delete_gathering_if_empty(uow, invoice)
    uow.flush()
    log.info("billing.invoice_pending_lines", customer_id=customer_id, as_of=as_of.isoformat(),
             invoices=[row.id for row in created])
    return [uow.invoices.model(row) for row in created]


def _standard_invoice(
    uow: UnitOfWork, namespace: str, customer_id: str, currency: str, lines: list[LineRow]
) -> InvoiceRow:
    customer = uow.customers.get(namespace, customer_id)
    invoice = uow.invoices.insert(
        namespace=namespace,
        customer_id=customer_id,
        kind="standard",
        status=InvoiceStatus.DRAFT_WAITING_FOR_COLLECTION.value,
        immutable=False,
        currency=currency,
        now=uow.now,
        collection_at=add_duration(uow.now, customer.billing_profile.collection.interval),
    )
    for line in lines:
        line.invoice_id = invoice.id
        line.updated_at = uow.now
        if line.managed_by != "manual" or line.quantity is None:
            snapshot_quantity(uow, line)
    uow.flush()
    dispatch(uow, Moment.STANDARD_INVOICE_CREATED, invoice, lines)  # charges.md §6.3: charge engines start runs
    recalculate(uow, invoice)
    start(uow, invoice)
    return invoice
