"""Flat fee, ``credit_then_invoice`` (charges.md §3.4, §7.6, §7.7).

Credits are consumed when billing puts the charge's line on a standard invoice; the remainder (the
overage) is invoiced, accrued at issue and paid like any invoice. The transitions are FC-1 … FC-20;
the internal triggers (delete, extend, shrink, set_override, line_manual_edit) are refused while the
invoice is being issued ("retry after billing advances").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.charges.credits import reconcile, run_reference
from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.flat_fee.base import FlatFeeMachineBase
from billing.charges.invoice_patches import (
    DeleteGatheringLineByChargeId,
    LineDelete,
    LineUpdate,
    UpsertGatheringLineByChargeId,
)
from billing.charges.machine import RETRY_AFTER_BILLING, rule
from billing.charges.projection import flat_fee_line, updated_standard_line
from billing.charges.requests import DeletePatch, PeriodPatch
from billing.charges.runs import AccruedUsage
from billing.lines import Line
from billing.store.mapping import line_of

STARTED = "active.realization.started"
WAITING = "active.realization.waiting_for_collection"
PROCESSING = "active.realization.processing"
ISSUING = "active.realization.issuing"
COMPLETED = "active.realization.completed"
ZERO_FIAT = "active.realization.zero_fiat_amount_overage_completed"
AWAITING = "active.awaiting_payment_settlement"
CLEAR_OVERRIDE = "active.clear_override"
DELETED_CLEAR_OVERRIDE = "deleted.clear_override"


class FlatFeeCreditThenInvoice(FlatFeeMachineBase):
    rules = (
        rule("created", "next", "final", guard="due_with_zero_amount"),  # FC-1
        rule("created", "next", "active", guard="due_with_amount"),  # FC-2
        rule("created", "attach_invoice_line", PROCESSING, action="start_realization"),  # FC-3
        rule("active", "next", "final", guard="zero_amount"),  # FC-5
        rule("active", "invoice_created", STARTED, action="start_realization"),  # FC-6
        rule(STARTED, "next", WAITING),  # FC-8
        rule(WAITING, "collection_completed", PROCESSING),  # FC-9 (the engine re-projects the run)
        rule(PROCESSING, "next", ZERO_FIAT, guard="zero_fiat_overage"),  # FC-10
        rule(PROCESSING, "invoice_issued", ISSUING, action="accrue_invoiced_usage"),  # FC-11
        rule(ISSUING, "next", COMPLETED),  # FC-12
        rule(ZERO_FIAT, "next", "final"),  # FC-13
        rule(COMPLETED, "next", AWAITING),  # FC-14
        rule(AWAITING, "next", "final", guard="all_payments_settled"),  # FC-15
        rule(None, "clear_override", CLEAR_OVERRIDE, guard="base_live", action="cancel_and_restore_base"),  # FC-17
        rule(CLEAR_OVERRIDE, "next", action="after_clear_override"),  # FC-18
        rule(None, "clear_override", DELETED_CLEAR_OVERRIDE, guard="base_deleted", action="remove_override_and_delete"),  # FC-19
        rule(DELETED_CLEAR_OVERRIDE, "next", "deleted"),  # FC-20
        rule(None, "delete", action="delete"),
        rule(None, "extend", action="period_patch"),
        rule(None, "shrink", action="period_patch"),
        rule(None, "set_override", action="set_override"),
        rule(None, "line_manual_edit", action="set_override"),
    )
    activations = {
        "created": "activate_created",  # FC-4
        "active": "activate_active",  # FC-7
        ZERO_FIAT: "activate_zero_fiat",  # FC-13
        "final": "activate_final",  # FC-16
    }

    # -- guards ------------------------------------------------------------------------------------
    def due_with_zero_amount(self, **_: Any) -> bool:
        return self.invoice_at_reached() and self.amount == 0

    def due_with_amount(self, **_: Any) -> bool:
        return self.invoice_at_reached() and self.amount > 0

    def zero_amount(self, **_: Any) -> bool:
        return self.amount == 0

    def zero_fiat_overage(self, **_: Any) -> bool:
        run = self.current_run
        return self.ctx.is_custom_currency(self.charge.currency) and run is not None and run.totals.total == 0

    def all_payments_settled(self, **_: Any) -> bool:
        run = self.current_run
        return run is not None and run.settled

    # -- activations -------------------------------------------------------------------------------
    def activate_created(self) -> None:
        self.set_advance_after(self.charge.effective.invoice_at)

    def activate_active(self) -> None:
        self.set_advance_after(self.charge.effective.service_period.end)

    def activate_zero_fiat(self) -> None:
        run = self.current_run
        if run is not None and not run.immutable:
            self.put_run(run.model_copy(update={"immutable": True}))
        self.set_advance_after(None)

    def activate_final(self) -> None:
        self.set_advance_after(None)

    # -- realization -------------------------------------------------------------------------------
    def start_realization(self, line: Line, **_: Any) -> None:
        """Billing made a standard invoice from the gathering line: rate, consume credits, start the run."""
        rated = self.rated()
        run = self.new_run(line_id=line.id, invoice_id=line.invoice_id)
        run = reconcile(self.ctx, self.charge, run, rated.total, exact=False, booked_at=self.booked_at(),
                        source_as_of=self.charge.effective.invoice_at, mode="credit_then_invoice")
        totals = rated.with_credits(run.net_allocations, precision=self.precision)
        self.put_run(run.model_copy(update={"totals": totals, "no_fiat_transaction_required": totals.total == 0}))
        self.set_state(current_run_id=run.id)

    def accrue_invoiced_usage(self, line: Line, **_: Any) -> None:
        run = self.current_run
        if run is None:
            raise PreconditionFailed(f"charge {self.charge.id}: invoice issued without a current run",
                                     charge_id=self.charge.id, status=self.status, trigger="invoice_issued")
        if (line.totals.total != 0) == run.no_fiat_transaction_required:
            raise ChargeValidationError(
                f"charge {self.charge.id}: line {line.id} total {line.totals.total} disagrees with run {run.id}"
                f" (no fiat transaction required: {run.no_fiat_transaction_required})", charge_id=self.charge.id)
        if self.ctx.is_custom_currency(self.charge.currency) and run.totals.total != 0:
            raise PreconditionFailed(f"charge {self.charge.id}: custom currency overage settlement is not supported",
                                     charge_id=self.charge.id, status=self.status, trigger="invoice_issued")
        update: dict[str, Any] = {"immutable": True}
        if not run.no_fiat_transaction_required:
            group = self.ctx.ledger.on_invoice_usage_accrued(run=run_reference(self.charge, run), totals=line.totals,
                                                             booked_at=self.booked_at())
            if not group:
                raise ChargeValidationError(f"charge {self.charge.id}: the ledger returned no transaction group",
                                            charge_id=self.charge.id)
            update["accrued_usage"] = AccruedUsage(service_period=run.service_period, totals=line.totals,
                                                   ledger_transaction_group_id=group)
        self.put_run(run.model_copy(update=update))
        self.set_advance_after(None)

    # -- period changes and overrides (§7.6, §7.7) ---------------------------------------------------
    def _refuse_while_issuing(self, trigger: str) -> None:
        if self.status in RETRY_AFTER_BILLING:
            raise self.refuse(trigger, "retry after billing advances")

    def period_patch(self, patch: PeriodPatch, **_: Any) -> None:
        self._refuse_while_issuing(patch.kind)
        self.apply_period(patch)
        self.rerealize(self.recompute_amount())

    def set_override(self, override: Any, **_: Any) -> None:
        self._refuse_while_issuing("set_override")
        if override.intent_deleted_at is not None:
            raise ChargeValidationError(f"charge {self.charge.id}: an override cannot set intent_deleted_at",
                                        charge_id=self.charge.id, field="intent_deleted_at")
        self.update(override=override)
        self.rerealize(self.recompute_amount())

    def rerealize(self, amount: Decimal) -> None:
        """Bring the gathering line or the current run in line with a recomputed amount (§7.6 table)."""
        run = self.current_run
        if run is None:
            if amount == 0:
                self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
                self.set_status("final")
            else:
                self.emit(UpsertGatheringLineByChargeId(charge_id=self.charge.id, currency=self.line_currency(),
                                                        line=flat_fee_line(self.charge, amount)))
                self.set_status("created")
            return
        if run.line_id is None or run.invoice_id is None:
            raise PreconditionFailed(f"charge {self.charge.id}: run {run.id} has no line or invoice reference",
                                     charge_id=self.charge.id, status=self.status)
        invoice = self.ctx.uow.invoices.require_row(self.charge.namespace, run.invoice_id)
        if invoice.immutable or run.immutable:
            if amount != run.amount_after_proration:
                self.emit(LineDelete(line_id=run.line_id, invoice_id=run.invoice_id))
            return
        if amount == 0:
            self.emit(LineDelete(line_id=run.line_id, invoice_id=run.invoice_id))
            self.set_state(current_run_id=None)
            self.set_status("final")
            return
        rated = self.rated()
        run = reconcile(self.ctx, self.charge, run, rated.total, exact=False, booked_at=self.booked_at(),
                        source_as_of=self.charge.effective.invoice_at, mode="credit_then_invoice")
        totals = rated.with_credits(run.net_allocations, precision=self.precision)
        run = run.model_copy(update={"totals": totals, "no_fiat_transaction_required": totals.total == 0,
                                     "amount_after_proration": amount,
                                     "service_period": self.charge.effective.service_period})
        self.put_run(run)
        stored = line_of(self.ctx.uow.lines.require_row(self.charge.namespace, run.line_id), "standard")
        self.emit(LineUpdate(line=updated_standard_line(stored, flat_fee_line(self.charge, amount), run)))

    def line_currency(self) -> str:
        return self.charge.currency

    # -- deletion ----------------------------------------------------------------------------------
    def delete(self, patch: DeletePatch, **_: Any) -> None:
        if patch.change_source == "api" and self.charge.override is None and self.charge.base.managed_by != "manual":
            # A customer deleting a subscription-owned charge: a deleted override hides it, the base
            # stays live for sync (§7.5).
            self.update(override=self.charge.base.model_copy(update={"intent_deleted_at": self.now}))
        elif patch.change_source == "api" and self.charge.override is not None:
            self.update(override=self.charge.override.model_copy(update={"intent_deleted_at": self.now}))
        else:
            self.update(base=self.charge.base.model_copy(update={"intent_deleted_at": self.now}))
        self.cancel_realization()
        self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
        self.set_status("deleted")
        self.set_advance_after(None)
        if self.charge.base.intent_deleted_at is not None:
            self.update(deleted_at=self.now)

    def cancel_realization(self) -> None:
        """Delete the current run's line (billing corrects credits or records a credit-note issue) and
        detach the run into the prior runs."""
        run = self.current_run
        if run is None:
            return
        if run.line_id is not None and run.invoice_id is not None:
            self.emit(LineDelete(line_id=run.line_id, invoice_id=run.invoice_id))
        self.set_state(current_run_id=None)

    def cancel_and_restore_base(self, **_: Any) -> None:
        self.cancel_realization()
        self.update(override=None)
        amount = self.recompute_amount()
        if amount == 0:
            self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
        else:
            self.emit(UpsertGatheringLineByChargeId(charge_id=self.charge.id, currency=self.line_currency(),
                                                    line=flat_fee_line(self.charge, amount)))

    def after_clear_override(self, **_: Any) -> None:
        if self.amount == 0:
            self.set_status("final")
        elif self.invoice_at_reached():
            self.set_status("active")
        else:
            self.set_status("created")

    def remove_override_and_delete(self, **_: Any) -> None:
        self.update(override=None)
        self.cancel_realization()
        self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
        self.set_advance_after(None)
        self.update(deleted_at=self.now)
