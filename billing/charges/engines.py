"""The ``charge_flatfee`` and ``charge_usagebased`` line engines (charges.md §6.3).

They turn billing's invoice moments into charge triggers: a standard invoice made from a charge's
gathering line starts a run (credits consumed, the run projected onto the line), collection closes
it, issue books the accrued overage, payment events authorize and settle the run's payment, and lines
billing deletes (or cannot delete) void the run. ``credit_only`` charges never have lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from billing.charges import payments
from billing.charges.context import ChargeContext
from billing.charges.credits import correct_all
from billing.charges.errors import PreconditionFailed
from billing.charges.hooks import LineEngine
from billing.charges.invoice_updater import apply_invoice_patches
from billing.charges.machine import ChargeMachine
from billing.charges.projection import project_run
from billing.charges.repository import lock_and_load
from billing.charges.requests import DeletePatch
from billing.charges.runs import INVALID_RUN, Run
from billing.store.mapping import line_of
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from billing.charges.service import ChargesService


class ChargeLineEngine(LineEngine):
    def __init__(self, service: "ChargesService", name: str) -> None:
        self.service = service
        self.name = name

    def _machine(self, uow: UnitOfWork, line: LineRow) -> ChargeMachine:
        assert line.charge_id is not None
        charge = lock_and_load(uow, line.namespace, line.charge_id)
        return self.service.machine(ChargeContext(uow, self.service.ledger), charge)

    @staticmethod
    def _run_of(machine: ChargeMachine, line: LineRow) -> Run | None:
        runs = [run for run in machine.ordered_runs() if run.line_id == line.id]
        return runs[-1] if runs else None

    def _project(self, machine: ChargeMachine, line: LineRow) -> None:
        run = self._run_of(machine, line)
        if run is None or run.deleted_at is not None:
            return
        quantity = machine.line_quantity(run) if hasattr(machine, "line_quantity") else None  # usage lines
        project_run(line, run, quantity=quantity)

    def _drain(self, machine: ChargeMachine, uow: UnitOfWork) -> None:
        patches = machine.take_patches()
        if patches:
            apply_invoice_patches(uow, machine.charge.namespace, machine.charge.customer_id, patches)

    # -- moments -----------------------------------------------------------------------------------
    def on_standard_invoice_created(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        for line in lines:
            machine = self._machine(uow, line)
            machine.advance_until_stable()
            if machine.status == "created":
                # Billing invoiced the line, so its invoice-at has come for billing (it may invoice
                # ahead of the clock): the charge is activated before the run starts.
                machine.set_status("active")
                machine.activate()
                machine.persist()
            machine.fire("invoice_created", line=line_of(line, "standard"))
            machine.advance_until_stable()
            self._project(machine, line)
            self._extend_collection(invoice, machine, line)

    def _extend_collection(self, invoice: InvoiceRow, machine: ChargeMachine, line: LineRow) -> None:
        """A usage run is collected one minute after its ingestion bound (§4.1, C-011): the invoice's
        collection stays open at least that long (the line's collection period ends there)."""
        run = self._run_of(machine, line)
        done_at = getattr(machine, "collection_done_at", None)
        if run is None or done_at is None or run.stored_at_lt is None:
            return
        end = done_at(run)
        if invoice.collection_at is None or invoice.collection_at < end:
            invoice.collection_at = end

    def on_collection_completed(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        for line in lines:
            machine = self._machine(uow, line)
            if machine.can_fire("collection_completed"):
                machine.fire("collection_completed")
                machine.advance_until_stable()
            self._project(machine, line)

    def on_invoice_issued(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        for line in lines:
            machine = self._machine(uow, line)
            machine.advance_until_stable()
            standard_line = line_of(line, "standard")
            if machine.can_fire("invoice_issued", line=standard_line):
                machine.fire("invoice_issued", line=standard_line)
                machine.advance_until_stable()

    def on_payment_authorized(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        for line in lines:
            payments.payment_authorized(self._machine(uow, line), invoice, line)

    def on_payment_settled(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        for line in lines:
            payments.payment_paid(self._machine(uow, line), invoice, line)

    def on_mutable_lines_deleted_by_system(self, uow: UnitOfWork, invoice: InvoiceRow,
                                           lines: Sequence[LineRow]) -> None:
        """§3.4.5: correct the run's credits and mark it deleted (the run was detached first)."""
        for line in lines:
            machine = self._machine(uow, line)
            run = self._run_of(machine, line)
            if run is None or run.deleted_at is not None or run.type == INVALID_RUN:
                continue
            current = machine.current_run
            if run.invoice_id != invoice.id or run.accrued_usage is not None or run.payment is not None \
                    or (current is not None and current.id == run.id):
                raise PreconditionFailed(
                    f"charge {machine.charge.id}: run {run.id} of line {line.id} cannot be deleted by billing"
                    " (another invoice, accrued, paid or still the current run)",
                    charge_id=machine.charge.id, status=machine.status)
            run = correct_all(machine.ctx, machine.charge, run, booked_at=machine.now)
            machine.put_run(run.model_copy(update={"deleted_at": machine.now}))
            machine.persist()

    def on_unsupported_credit_note(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        """§3.4.5: billing cannot delete a line of an immutable invoice: the run is voided history."""
        for line in lines:
            machine = self._machine(uow, line)
            run = self._run_of(machine, line)
            if run is None or run.type == INVALID_RUN:
                continue
            machine.put_run(run.model_copy(update={"type": INVALID_RUN}))
            current = machine.current_run
            if current is not None and current.id == run.id:
                machine.set_state(current_run_id=None)
            machine.persist()

    def on_invoice_deleted(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        """A draft deleted with charge lines on it: each line is an API delete of its charge (§3.6):
        the run's credits go back, the run is soft-deleted and the charge gets a deleted override."""
        for line in lines:
            machine = self._machine(uow, line)
            run = self._run_of(machine, line)
            if run is not None and run.deleted_at is None:
                run = correct_all(machine.ctx, machine.charge, run, booked_at=machine.now)
                machine.put_run(run.model_copy(update={"deleted_at": machine.now}))
                current = machine.current_run
                if current is not None and current.id == run.id:
                    machine.set_state(current_run_id=None)
                machine.persist()
            if machine.charge.meta_status != "deleted" and machine.can_fire("delete", patch=DeletePatch()):
                machine.fire("delete", patch=DeletePatch(change_source="api", credit_refund="ignore",
                                                         invoice_refund="ignore"))
                self._drain(machine, uow)
