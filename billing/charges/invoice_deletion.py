"""Deleting an invoice that holds charge-managed lines (charges.md §3.6, §5.6.7, §6.3; C-035, C-037, C-043).

Billing's ``delete_invoice`` calls ``delete_invoice_lines`` before it deletes the invoice itself:

- **API** (gathering or draft): each charge line is an API delete of that line (``billing.charges.api``):
  a deleted override, the run detached and its credits returned, a usage tail shrunk.
- **System, draft**: flat-fee lines are billing's "mutable lines deleted by system" (refused while the run
  is still current, §3.4.5); a usage line voids and detaches its run, deletes the charge's gathering tail
  and returns the charge to ``active`` (C-043).
- **System, gathering**: refused — charge lines leave a gathering invoice through their charges.

Credit-purchase lines refuse both sources before anything is written (§5.6.7). Every charge line ends
soft-deleted, so the lifecycle's delete step that follows never hands a charge line to an engine.
"""

from __future__ import annotations

import structlog

from billing.charges.api import (
    FLAT_FEE_ENGINE,
    USAGE_BASED_ENGINE,
    ChargeCall,
    delete_charge_line,
    is_charge_managed,
    refuse_unsupported,
    run_of_line,
)
from billing.charges.credits import correct_all
from billing.charges.errors import PreconditionFailed
from billing.charges.hooks import Moment, dispatch
from billing.charges.invoice_patches import DeleteGatheringLineByChargeId
from billing.operations.rerating import recalculate
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

REALIZING = frozenset({"active.realization.started", "active.realization.waiting_for_collection",
                       "active.realization.processing"})


def delete_invoice_lines(uow: UnitOfWork, invoice: InvoiceRow, *, source: str) -> None:
    """Before billing deletes ``invoice``: its charge lines go to their charges (§3.6, §6.3).

    API: each charge line is an API delete. System, standard invoice: flat-fee lines are "mutable lines
    deleted by system" (billing refuses while a run is still current); a usage line voids its run,
    detaches it, deletes the charge's gathering tail and returns the charge to ``active`` (C-043).
    System, gathering invoice: refused — charge lines leave a gathering invoice through their charges.
    """
    rows = [row for row in uow.invoices.line_rows(invoice.id, include_deleted=False) if is_charge_managed(row)]
    if not rows:
        return
    what = f"delete_invoice({invoice.id}, source={source})"
    refuse_unsupported(rows, source=source, what=what)
    if source == "api":
        for row in rows:
            if row.deleted_at is None:  # an earlier line's charge may have taken it with it
                delete_charge_line(uow, invoice, row)
        return
    if invoice.kind == "gathering":
        raise PreconditionFailed(
            f"{what}: the gathering invoice holds charge lines ({', '.join(row.id for row in rows)});"
            " they are deleted through their charges", charge_id=rows[0].charge_id, trigger="delete")
    flat = [row for row in rows if row.engine == FLAT_FEE_ENGINE]
    for row in rows:
        if row.engine == USAGE_BASED_ENGINE:
            _system_delete_usage_line(uow, invoice, row)
    if flat:
        for row in flat:
            row.deleted_at = uow.now
            row.updated_at = uow.now
        uow.flush()
        dispatch(uow, Moment.MUTABLE_LINES_DELETED_BY_SYSTEM, invoice, flat)
    recalculate(uow, invoice)
    uow.flush()


def _system_delete_usage_line(uow: UnitOfWork, invoice: InvoiceRow, row: LineRow) -> None:
    assert row.charge_id is not None
    call = ChargeCall(uow, invoice.namespace, row.charge_id)
    machine: Any = call.machine
    run = run_of_line(machine, row)
    if run is not None and not run.voided:
        if run.invoice_id != invoice.id or run.accrued_usage is not None or run.payment is not None:
            raise PreconditionFailed(
                f"charge {call.charge.id}: run {run.id} of line {row.id} cannot be deleted by billing"
                " (another invoice, accrued or paid)", charge_id=call.charge.id, status=call.charge.status)
        run = correct_all(machine.ctx, machine.charge, run, booked_at=machine.now)
        machine.put_run(run.model_copy(update={"deleted_at": machine.now}))
        current = machine.current_run
        if current is not None and current.id == run.id:
            machine.set_state(current_run_id=None)
            if machine.status in REALIZING:
                machine.set_status("active")
                machine.activate()
    machine.emit(DeleteGatheringLineByChargeId(charge_id=call.charge.id))
    machine.persist()
    row.deleted_at = uow.now
    row.updated_at = uow.now
    uow.flush()
    patches = machine.take_patches()
    call.service._drain_rounds(call.ctx, invoice.namespace, invoice.customer_id, patches, [])
    log.info("charges.api.usage_line_deleted_by_system", namespace=invoice.namespace,
             customer_id=invoice.customer_id, charge_id=call.charge.id, line_id=row.id, invoice_id=invoice.id)
