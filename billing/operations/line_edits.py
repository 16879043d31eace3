"""Lines created, edited and deleted the way a user (``source: api``) or the system would.

An API create, edit or delete makes the line ``managed_by = manual``; an API delete keeps the row,
soft-deleted, as a manual tombstone (sync then never re-creates it). ``source: system`` keeps
``managed_by``. Only lines of a live gathering invoice or a mutable standard invoice can change.

Charge-managed lines (a ``charge_id``, a ``charge_*`` engine) go to their charges
(``billing.charges.api``, charges.md §3.6, §4.5): an API edit becomes the charge's override, an API
delete a delete (or, for a usage tail, a shrink) of the charge, and a flat line created through the API
becomes a manual flat-fee charge when the store routes new flat fees to charges. Credit-purchase lines
are refused (§5.6.7). A system edit of a charge line changes only the line (C-053); a system delete of
one asks its engine first. Plain ``invoicing`` lines behave as before.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from billing.charges.hooks import Moment, dispatch
from billing.errors import BillingValidationError, ConflictError
from billing.lines import ChangeSource, Line, LineContent, NewLine
from billing.operations.gathering import (
    check_group_reference,
    create_pending_invoice_lines,
    delete_gathering_if_empty,
    lines_on,
    live_gathering,
)
from billing.operations.normalize import normalize_line, require_valid_line
from billing.operations.rerating import recalculate, snapshot_quantity
from billing.operations.standard import delete_draft_if_empty, mutable_standard
from billing.period import Period
from billing.prices import Discounts, Price, TaxConfig
from billing.store.mapping import line_of, write_line_content
from billing.store.tables import InvoiceRow
from billing.store.unit_of_work import UnitOfWork
from billing.types import Amount, UtcDatetime


class LineEdit(BaseModel):
    """The fields an edit sets; unset fields stay as they are (``None`` clears discounts or tax)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_unit_amount: Amount | None = None
    quantity: Amount | None = None
    price: Price | None = None
    rate_card_discounts: Discounts | None = None
    tax_config: TaxConfig | None = None
    service_period: Period | None = None
    invoice_at: UtcDatetime | None = None
    name: str | None = None
    annotations: dict[str, Any] | None = None

    def updates(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


def _editable_invoice(uow: UnitOfWork, namespace: str, invoice_id: str, *, where: str) -> InvoiceRow:
    invoice = uow.invoices.require_row(namespace, invoice_id)
    if invoice.kind == "gathering":
        return live_gathering(uow, namespace, invoice_id, where=where)
    return mutable_standard(uow, namespace, invoice_id, where=where)


def _charges():  # type: ignore[no-untyped-def]
    from billing.charges import api  # charges import billing's operations: bound late

    return api


def _prepare_new_line(uow: UnitOfWork, line: NewLine, source: ChangeSource, *, where: str) -> NewLine:
    _charges().check_new_line(line)
    if source == "api":
        line = line.model_copy(update={"managed_by": "manual"})
    line = normalize_line(line)
    require_valid_line(line, where=where)
    return line


def _manual_charge(uow: UnitOfWork, namespace: str, customer_id: str, currency: str, line: NewLine,
                   source: ChangeSource) -> Any:
    """The manual flat-fee charge an API-created flat line becomes (validated now), or None."""
    api = _charges()
    if source != "api" or not line.is_flat_fee or not api.routes_manual_flat_fees(uow.store):
        return None
    return api.new_manual_flat_fee(uow, namespace, customer_id, currency, line)


def create_pending_line(
    uow: UnitOfWork, namespace: str, customer_id: str, currency: str, line: NewLine, *,
    source: ChangeSource = "api",
) -> Line:
    """Add a line to the customer's gathering invoice for ``currency`` (created on demand)."""
    where = f"create_pending_line({customer_id}, {currency})"
    uow.lock_customer(namespace, customer_id)
    line = _prepare_new_line(uow, line, source, where=where)
    manual = _manual_charge(uow, namespace, customer_id, currency, line, source)
    created = create_pending_invoice_lines(uow, namespace, customer_id, currency, [line])[0]
    if manual is None:
        return created
    row = uow.lines.require_row(namespace, created.id)
    invoice = uow.invoices.require_row(namespace, row.invoice_id)
    _charges().attach_manual_flat_fee(uow, invoice, row, manual)
    return line_of(row, "gathering")


def create_line(
    uow: UnitOfWork, namespace: str, invoice_id: str, line: NewLine, *, source: ChangeSource = "api"
) -> Line:
    """Add a line to a gathering invoice (as a pending line) or to a mutable standard invoice."""
    where = f"create_line({invoice_id})"
    invoice = _editable_invoice(uow, namespace, invoice_id, where=where)
    if invoice.kind == "gathering":
        return create_pending_line(uow, namespace, invoice.customer_id, invoice.currency, line, source=source)
    uow.lock_customer(namespace, invoice.customer_id)
    line = _prepare_new_line(uow, line, source, where=where)
    check_group_reference(uow, namespace, line, where=where)
    manual = _manual_charge(uow, namespace, invoice.customer_id, invoice.currency, line, source)
    row = uow.lines.insert(invoice, line, uow.now)
    if row.quantity is None:
        snapshot_quantity(uow, row)
    uow.flush()
    if manual is not None:
        _charges().attach_manual_flat_fee(uow, invoice, row, manual)
        return line_of(row, invoice.kind)
    recalculate(uow, invoice)
    uow.flush()
    return line_of(row, invoice.kind)


def edit_line(
    uow: UnitOfWork, namespace: str, invoice_id: str, line_id: str, edit: LineEdit, *, source: ChangeSource = "api"
) -> Line:
    where = f"edit_line({invoice_id}, {line_id})"
    invoice = _editable_invoice(uow, namespace, invoice_id, where=where)
    uow.lock_customer(namespace, invoice.customer_id)
    row = lines_on(uow, invoice, [line_id], where=where)[line_id]
    if row.deleted_at is not None:
        raise ConflictError(f"{where}: line {line_id!r} is deleted")
    current = line_of(row, invoice.kind)
    edited = edit.updates()
    updates = dict(edited)
    if source == "api":
        updates["managed_by"] = "manual"
    merged = current.model_dump(include=set(LineContent.model_fields))
    merged.update(updates)
    if "price" in updates and "per_unit_amount" not in updates:
        # A new price without an explicit amount: a flat price bills its own amount (the line model
        # takes per_unit_amount from it); a usage price has no per-unit amount.
        merged["per_unit_amount"] = None
    try:
        content = LineContent.model_validate(merged)
    except ValueError as exc:
        raise BillingValidationError(f"{where}: {exc}") from exc
    content = normalize_line(content)
    require_valid_line(content, where=where)
    if source == "api" and _charges().is_charge_managed(row):
        _charges().edit_charge_line(uow, invoice, row, content, edited)
        uow.flush()
        return line_of(row, invoice.kind)
    write_line_content(row, content)
    row.updated_at = uow.now
    if invoice.kind == "standard" and "service_period" in updates and "quantity" not in updates:
        snapshot_quantity(uow, row)
    uow.flush()
    recalculate(uow, invoice)
    uow.flush()
    return line_of(row, invoice.kind)


def delete_line(
    uow: UnitOfWork, namespace: str, invoice_id: str, line_id: str, *, source: ChangeSource = "api"
) -> Line:
    where = f"delete_line({invoice_id}, {line_id})"
    invoice = _editable_invoice(uow, namespace, invoice_id, where=where)
    uow.lock_customer(namespace, invoice.customer_id)
    row = lines_on(uow, invoice, [line_id], where=where)[line_id]
    if row.deleted_at is not None:
        raise ConflictError(f"{where}: line {line_id!r} is already deleted")
    charge_managed = _charges().is_charge_managed(row)
    if charge_managed and source == "api":
        _charges().delete_charge_line(uow, invoice, row)
        return line_of(row, invoice.kind)
    if charge_managed:
        _charges().refuse_unsupported([row], source=source, what=where)
    row.deleted_at = uow.now
    row.updated_at = uow.now
    if source == "api":
        row.managed_by = "manual"
    uow.flush()
    if charge_managed:  # a system deletion: the line's engine corrects its run, or refuses (§3.4.5)
        dispatch(uow, Moment.MUTABLE_LINES_DELETED_BY_SYSTEM, invoice, [row])
    recalculate(uow, invoice)
    if invoice.kind == "gathering":
        delete_gathering_if_empty(uow, invoice)
    else:
        delete_draft_if_empty(uow, invoice)
    uow.flush()
    return line_of(row, invoice.kind)
