"""The charges invoice updater: applies one customer batch of invoice patches (charges.md §6.4,
reconciler.md §5.5).

1. Delete by charge id: every live line of the customer's gathering invoices carrying the charge id
   becomes a line delete.
2. Upsert by charge id: the charge's live gathering line (not being deleted) takes the target's
   content and keeps its identity (a line update); without one, the target is created.
3. New lines are created as pending lines, per currency.
4. Each affected invoice, in invoice-id order: a gathering invoice gets its deletes and
   replacements; a **mutable** standard invoice too (no quantity snapshot: the charge engines own
   quantities and totals), then its engines hear about the lines deleted by the system; an
   **immutable** standard invoice is not changed: each delete (and each update that would change a
   flat fee's amount or period, or a usage line's quantity when its period changed) adds a warning
   ``immutable_invoice_handling_not_supported`` (component ``charges.invoiceupdater``, path
   ``lines/<line id>``), and the deleted lines go to the engines' "on unsupported credit note".

Every touched line must carry a charge id; the updater refuses to touch any other line.
"""

from __future__ import annotations

from collections import defaultdict

import structlog

from billing.charges.errors import ChargeValidationError
from billing.charges.hooks import Moment, dispatch
from billing.charges.invoice_patches import (
    DeleteGatheringLineByChargeId,
    InvoicePatches,
    LineCreate,
    LineDelete,
    LineUpdate,
    UpsertGatheringLineByChargeId,
)
from billing.invoices import ValidationIssue
from billing.lines import Line, NewLine
from billing.operations import gathering, standard
from billing.operations.rerating import recalculate
from billing.store.mapping import line_of, set_totals
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

COMPONENT = "charges.invoiceupdater"
CODE = "immutable_invoice_handling_not_supported"
DELETE_MESSAGE = "line should be deleted, but the invoice is immutable"
UPDATE_MESSAGE = "line should be updated, but the invoice is immutable"


def _require_charge_line(row: LineRow | None, line_id: str, *, what: str) -> LineRow:
    if row is None:
        raise ChargeValidationError(f"charges invoice updater: {what} names line {line_id!r}, which does not exist")
    if not row.charge_id:
        raise ChargeValidationError(
            f"charges invoice updater: {what} of line {line_id!r} refused: the line is not charge-managed")
    return row


def apply_invoice_patches(uow: UnitOfWork, namespace: str, customer_id: str, patches: InvoicePatches) -> None:
    if not patches:
        return
    uow.lock_customer(namespace, customer_id)
    deletes: dict[str, list[str]] = defaultdict(list)
    updates: dict[str, list[Line]] = defaultdict(list)
    creates: dict[str, list[NewLine]] = defaultdict(list)

    gathering_rows = [
        line
        for invoice in uow.invoices.customer_rows(namespace, customer_id, kind="gathering") if invoice.deleted_at is None
        for line in uow.invoices.line_rows(invoice.id, include_deleted=False)
    ]
    doomed: set[str] = set()
    for patch in patches.of_kind("delete_gathering_line_by_charge_id"):
        assert isinstance(patch, DeleteGatheringLineByChargeId)
        for row in gathering_rows:
            if row.charge_id == patch.charge_id and row.id not in doomed:
                deletes[row.invoice_id].append(row.id)
                doomed.add(row.id)
    for patch in patches.of_kind("upsert_gathering_line_by_charge_id"):
        assert isinstance(patch, UpsertGatheringLineByChargeId)
        existing = next((r for r in gathering_rows if r.charge_id == patch.charge_id and r.id not in doomed), None)
        if existing is None:
            creates[patch.currency].append(patch.line)
            continue
        stored = line_of(existing, "gathering")
        merged = type(stored).model_validate({**stored.model_dump(), **patch.line.model_dump()})
        updates[existing.invoice_id].append(merged)
    for patch in patches:
        if isinstance(patch, LineCreate):
            creates[patch.currency].append(patch.line)
        elif isinstance(patch, LineDelete):
            row = _require_charge_line(uow.lines.rows(namespace, [patch.line_id]).get(patch.line_id), patch.line_id,
                                       what="line_delete")
            if row.invoice_id != patch.invoice_id:
                raise ChargeValidationError(
                    f"charges invoice updater: line {patch.line_id!r} is not on invoice {patch.invoice_id!r}")
            if row.id not in deletes[row.invoice_id]:
                deletes[row.invoice_id].append(row.id)
        elif isinstance(patch, LineUpdate):
            _require_charge_line(uow.lines.rows(namespace, [patch.line.id]).get(patch.line.id), patch.line.id,
                                 what="line_update")
            updates[patch.line.invoice_id].append(patch.line)

    for currency in sorted(creates):
        gathering.create_pending_invoice_lines(uow, namespace, customer_id, currency, creates[currency])
    for invoice_id in sorted(set(deletes) | set(updates)):
        invoice = uow.invoices.require_row(namespace, invoice_id)
        if invoice.kind == "gathering":
            gathering.update_gathering_invoice(uow, namespace, invoice_id, delete_line_ids=deletes[invoice_id],
                                               replace_lines=updates[invoice_id])
        elif not invoice.immutable:
            _mutable(uow, invoice, deletes[invoice_id], updates[invoice_id])
        else:
            _immutable(uow, invoice, deletes[invoice_id], updates[invoice_id])


def _mutable(uow: UnitOfWork, invoice: InvoiceRow, delete_ids: list[str], replace: list[Line]) -> None:
    standard.update_standard_invoice(uow, invoice.namespace, invoice.id, delete_line_ids=delete_ids,
                                     replace_lines=replace)
    rows = uow.lines.rows(invoice.namespace, [*delete_ids, *(line.id for line in replace)])
    for line in replace:
        set_totals(rows[line.id], line.totals)
    if delete_ids:
        dispatch(uow, Moment.MUTABLE_LINES_DELETED_BY_SYSTEM, invoice, [rows[i] for i in delete_ids])
    recalculate(uow, invoice)
    uow.flush()


def _immutable(uow: UnitOfWork, invoice: InvoiceRow, delete_ids: list[str], replace: list[Line]) -> None:
    rows = uow.lines.rows(invoice.namespace, [*delete_ids, *(line.id for line in replace)])
    added: list[ValidationIssue] = [
        ValidationIssue(severity="warning", code=CODE, message=DELETE_MESSAGE, component=COMPONENT, path=f"lines/{line_id}")
        for line_id in delete_ids
    ]
    for line in replace:
        stored = line_of(rows[line.id], "standard")
        period_changed = stored.service_period != line.service_period
        if line.is_flat_fee:
            drift = period_changed or stored.per_unit_amount != line.per_unit_amount
        else:
            drift = period_changed and (stored.quantity is None or line.quantity is None or stored.quantity != line.quantity)
        if drift:
            added.append(ValidationIssue(severity="warning", code=CODE, message=UPDATE_MESSAGE, component=COMPONENT,
                                         path=f"lines/{line.id}"))
    if delete_ids:
        dispatch(uow, Moment.UNSUPPORTED_CREDIT_NOTE, invoice, [rows[i] for i in delete_ids])
    if added:
        existing = uow.invoices.live_issues([invoice.id]).get(invoice.id, [])
        seen: set[tuple[str, str, str, str]] = set()
        merged: list[ValidationIssue] = []
        for issue in [*existing, *added]:
            key = (issue.path, issue.component, issue.code, issue.message)
            if key not in seen:
                seen.add(key)
                merged.append(issue)
        uow.invoices.replace_issues(invoice, merged, uow.now)
        log.warning("charges.invoice_updater.immutable", invoice_id=invoice.id, customer_id=invoice.customer_id,
                    issues=[issue.path for issue in added])
