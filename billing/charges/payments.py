"""Run payments of ``credit_then_invoice`` charges (charges.md §3.4.6; §4.4 for usage runs).

Payments are facts, not transitions. ``payment_authorized`` authorizes the line total through the
ledger once per (invoice, line); ``payment_paid`` settles it (authorizing first when no payment
exists yet, so paid-before-authorized works). A replay for the recorded invoice and line is a no-op
logged as ``charge.event.replayed``; an event naming another invoice or line is a
``ChargeConflictError`` that changes nothing. Runs that need no fiat transaction are skipped.
"""

from __future__ import annotations

from billing.charges.credits import run_reference
from billing.charges.errors import ChargeConflictError, ChargeValidationError
from billing.charges.machine import ChargeMachine
from billing.charges.runs import LedgerStamp, Run, RunPayment
from billing.store.tables import InvoiceRow, LineRow


def _run_for(machine: ChargeMachine, invoice: InvoiceRow, line: LineRow) -> Run | None:
    charge = machine.charge
    if line.charge_id != charge.id:
        raise ChargeValidationError(f"charge {charge.id}: line {line.id} belongs to charge {line.charge_id!r}",
                                    charge_id=charge.id, field="line.charge_id")
    if line.invoice_id != invoice.id:
        raise ChargeValidationError(f"charge {charge.id}: line {line.id} is not on invoice {invoice.id}",
                                    charge_id=charge.id, field="line.invoice_id")
    candidates = [run for run in machine.ordered_runs() if run.line_id == line.id and run.deleted_at is None]
    if not candidates:
        raise ChargeConflictError(f"charge {charge.id}: payment line ID must match line ({line.id} has no run)",
                                  charge_id=charge.id)
    run = candidates[-1]
    if run.invoice_id != invoice.id:
        raise ChargeConflictError(f"charge {charge.id}: payment invoice ID must match invoice (run {run.id} is on"
                                  f" {run.invoice_id}, event for {invoice.id})", charge_id=charge.id)
    if run.no_fiat_transaction_required or line.total == 0:
        return None
    return run


def _replayed(machine: ChargeMachine, run: Run, trigger: str) -> None:
    machine.log.info("charge.event.replayed", trigger=trigger, run_id=run.id, invoice_id=run.invoice_id,
                     line_id=run.line_id, status=machine.status)


def _authorize(machine: ChargeMachine, run: Run, line: LineRow) -> Run:
    group = machine.ctx.ledger.on_run_payment_authorized(run=run_reference(machine.charge, run),
                                                         event_at=machine.now, fiat_amount=line.total)
    payment = RunPayment(service_period=run.service_period, status="authorized", fiat_amount=line.total,
                         invoice_id=line.invoice_id, line_id=line.id,
                         authorized=LedgerStamp(transaction_group_id=group, at=machine.now))
    run = run.model_copy(update={"payment": payment})
    machine.put_run(run)
    return run


def payment_authorized(machine: ChargeMachine, invoice: InvoiceRow, line: LineRow) -> None:
    machine.advance_until_stable()
    run = _run_for(machine, invoice, line)
    if run is None:
        return
    if run.payment is not None and run.payment.status in ("authorized", "settled"):
        _replayed(machine, run, "payment_authorized")
        return
    _authorize(machine, run, line)
    machine.persist()


def payment_paid(machine: ChargeMachine, invoice: InvoiceRow, line: LineRow) -> None:
    machine.advance_until_stable()
    run = _run_for(machine, invoice, line)
    if run is None:
        machine.advance_until_stable()
        return
    if run.payment is not None and run.payment.status == "settled":
        _replayed(machine, run, "payment_paid")
        return
    if run.payment is None or run.payment.status != "authorized":
        run = _authorize(machine, run, line)
    assert run.payment is not None
    group = machine.ctx.ledger.on_run_payment_settled(run=run_reference(machine.charge, run), event_at=machine.now,
                                                      fiat_amount=run.payment.fiat_amount)
    payment = run.payment.model_copy(update={"status": "settled",
                                             "settled": LedgerStamp(transaction_group_id=group, at=machine.now)})
    machine.put_run(run.model_copy(update={"payment": payment}))
    machine.persist()
    machine.advance_until_stable()
