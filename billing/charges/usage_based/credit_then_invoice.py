"""Usage based, ``credit_then_invoice`` (charges.md §4.4, §4.5, §7.6): UC-1 … UC-11.

The charge keeps one gathering line for its unbilled tail. When billing invoices that line, an invoice
run is started (``final_realization`` when the line reaches the charge's end, else
``partial_invoice``), rated cumulatively and credited; collection re-meters and reconciles it; issue
books the accrued overage and releases the run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing.charges.credits import reconcile, run_reference
from billing.charges.errors import ChargeValidationError, PreconditionFailed
from billing.charges.invoice_patches import (
    DeleteGatheringLineByChargeId,
    LineCreate,
    LineDelete,
    UpsertGatheringLineByChargeId,
)
from billing.charges.machine import RETRY_AFTER_BILLING, rule
from billing.charges.projection import usage_line
from billing.charges.requests import DeletePatch, PeriodPatch
from billing.charges.runs import AccruedUsage, Run
from billing.charges.usage_based.base import UsageMachineBase
from billing.lines import Line
from billing.period import Period

STARTED = "active.realization.started"
WAITING = "active.realization.waiting_for_collection"
PROCESSING = "active.realization.processing"
ISSUING = "active.realization.issuing"
COMPLETED = "active.realization.completed"
ZERO_FIAT = "active.realization.zero_fiat_amount_overage_completed"
AWAITING = "active.awaiting_payment_settlement"
REALIZING = (STARTED, WAITING, PROCESSING)


class UsageBasedCreditThenInvoice(UsageMachineBase):
    rules = (
        rule("created", "next", "active", guard="from_reached"),  # UC-1
        rule("active", "invoice_created", STARTED, action="start_invoice_run"),  # UC-2
        rule("active", "next", AWAITING, guard="fully_invoiced"),  # UC-3
        rule(STARTED, "next", WAITING),  # UC-5
        rule(WAITING, "collection_completed", PROCESSING),  # UC-7
        rule(PROCESSING, "next", ZERO_FIAT, guard="zero_fiat_overage"),  # UC-8
        rule(PROCESSING, "invoice_issued", ISSUING, action="finalize_invoice_run"),  # UC-9
        rule((ISSUING, ZERO_FIAT, COMPLETED), "next", AWAITING, guard="latest_run_ends_at_end"),  # UC-10
        rule((ISSUING, ZERO_FIAT, COMPLETED), "next", "active"),  # UC-10
        rule(AWAITING, "next", "final", guard="all_runs_settled"),  # UC-11
        rule(None, "delete", action="delete"),
        rule(None, "extend", action="extend"),
        rule(None, "shrink", action="shrink"),
        rule(None, "set_override", action="set_override"),
        rule(None, "clear_override", action="clear_override"),
        rule(None, "shrink_to_realized_period", action="shrink_to_realized_period"),
    )
    activations = {
        "created": "activate_created",
        "active": "activate_active",  # UC-4
        WAITING: "activate_waiting",  # UC-6
        PROCESSING: "snapshot_and_rerate",  # UC-7
        ZERO_FIAT: "release_run",  # UC-8
        "final": "activate_final",
    }

    # -- guards ------------------------------------------------------------------------------------
    def fully_invoiced(self, **_: Any) -> bool:
        latest = self.latest_run()
        return (self.current_run is None and latest is not None and latest.type == "final_realization"
                and latest.service_period.end >= self.period.end
                and (latest.immutable or latest.no_fiat_transaction_required))

    def zero_fiat_overage(self, **_: Any) -> bool:
        run = self.current_run
        return self.ctx.is_custom_currency(self.charge.currency) and run is not None and run.totals.total == 0

    def latest_run_ends_at_end(self, **_: Any) -> bool:
        latest = self.latest_run()
        return latest is not None and latest.service_period.end >= self.period.end

    def all_runs_settled(self, **_: Any) -> bool:
        return all(run.settled for run in self.live_runs())

    # -- activations -------------------------------------------------------------------------------
    def activate_created(self) -> None:
        self.set_advance_after(self.period.start)

    def activate_active(self) -> None:
        self.set_advance_after(self.period.end)

    def activate_waiting(self) -> None:
        run = self.current_run
        if run is not None:
            self.set_advance_after(self.collection_done_at(run))

    def activate_final(self) -> None:
        self.set_advance_after(None)

    def release_run(self) -> None:
        run = self.current_run
        if run is not None:
            self.put_run(run.model_copy(update={"immutable": True}))
        self.set_state(current_run_id=None)
        self.set_advance_after(None)

    # -- runs --------------------------------------------------------------------------------------
    def _rerate_and_reconcile(self, run: Run) -> Run:
        run = self.rerate(run)
        run = reconcile(self.ctx, self.charge, run, run.totals.total, exact=False, booked_at=run.service_period.end,
                        source_as_of=run.service_period.end, mode="credit_then_invoice")
        return self.with_credit_totals(run)

    def start_invoice_run(self, line: Line, **_: Any) -> None:
        end = line.service_period.end
        run = self.new_run(end, final=end >= self.period.end, line_id=line.id, invoice_id=line.invoice_id)
        run = self._rerate_and_reconcile(run)
        self.put_run(run)
        self.set_state(current_run_id=run.id)

    def snapshot_and_rerate(self) -> None:
        run = self.current_run
        if run is not None:
            self.put_run(self._rerate_and_reconcile(run))

    def finalize_invoice_run(self, line: Line, **_: Any) -> None:
        run = self.current_run
        if run is None:
            raise PreconditionFailed(f"charge {self.charge.id}: invoice issued without a current run",
                                     charge_id=self.charge.id, status=self.status, trigger="invoice_issued")
        update: dict[str, Any] = {"immutable": True}
        if not run.no_fiat_transaction_required:
            group = self.ctx.ledger.on_invoice_usage_accrued(run=run_reference(self.charge, run), totals=line.totals,
                                                             booked_at=run.service_period.end)
            update["accrued_usage"] = AccruedUsage(service_period=run.service_period, totals=line.totals,
                                                   ledger_transaction_group_id=group)
        self.put_run(run.model_copy(update=update))
        self.set_state(current_run_id=None)

    # -- gathering tail ----------------------------------------------------------------------------
    def tail_start(self) -> dt.datetime:
        latest = self.latest_run()
        return latest.service_period.end if latest is not None else self.period.start

    def tail_line(self, start: dt.datetime) -> Any:
        return usage_line(self.charge, Period(start=start, end=self.period.end))

    def upsert_tail(self) -> None:
        start = self.tail_start()
        if start >= self.period.end:
            self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
        else:
            self.emit(UpsertGatheringLineByChargeId(charge_id=self.charge.id, currency=self.charge.currency,
                                                    line=self.tail_line(start)))

    def _delete_run_line(self, run: Run) -> None:
        if run.line_id is None or run.invoice_id is None:
            raise PreconditionFailed(f"charge {self.charge.id}: run {run.id} is not invoice-backed",
                                     charge_id=self.charge.id, status=self.status)
        self.emit(LineDelete(line_id=run.line_id, invoice_id=run.invoice_id))

    # -- internal triggers (§7.6) --------------------------------------------------------------------
    def _refuse_while_issuing(self, trigger: str) -> None:
        if self.status in RETRY_AFTER_BILLING:
            raise self.refuse(trigger, "retry after billing advances")

    def shrink(self, patch: PeriodPatch, **_: Any) -> None:
        self._refuse_while_issuing("shrink")
        self.apply_period(patch)
        new_to = self.period.end
        cut = [run for run in self.live_runs() if run.service_period.end > new_to]
        for run in cut:
            self._delete_run_line(run)
        kept = [run for run in self.live_runs() if run not in cut]
        start = kept[-1].service_period.end if kept else self.period.start
        if cut:
            self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
            if start < new_to:
                self.emit(LineCreate(currency=self.charge.currency, line=self.tail_line(start)))
        elif start < new_to:
            self.emit(UpsertGatheringLineByChargeId(charge_id=self.charge.id, currency=self.charge.currency,
                                                    line=self.tail_line(start)))
        else:
            self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
        current = self.current_run
        if self.status == "created" or (current is not None and current not in cut):
            return
        if cut or current is None:
            self.set_state(current_run_id=None)
            if kept and kept[-1].service_period.end >= new_to:
                self.set_status("final" if all(run.settled for run in kept) else AWAITING)
            else:
                self.set_status("active")

    def extend(self, patch: PeriodPatch, **_: Any) -> None:
        self._refuse_while_issuing("extend")
        old_to = self.charge.base.service_period.end
        self.apply_period(patch)
        current = self.current_run
        if self.status in REALIZING and current is not None and current.type == "final_realization" \
                and current.service_period.end >= old_to:
            self._delete_run_line(current)
            self.set_state(current_run_id=None)
            self.set_status("active")
            start = current.service_period.start
            self.emit(LineCreate(currency=self.charge.currency, line=self.tail_line(start)))
            return
        if self.status in (AWAITING, "final"):
            latest = self.latest_run()
            if latest is not None and latest.type == "final_realization":
                self.put_run(latest.model_copy(update={"type": "partial_invoice"}))
            self.set_state(current_run_id=None)
            self.set_status("active")
            self.emit(UpsertGatheringLineByChargeId(charge_id=self.charge.id, currency=self.charge.currency,
                                                    line=self.tail_line(old_to)))
            return
        self.upsert_tail()

    def delete(self, patch: DeletePatch, **_: Any) -> None:
        self.mark_layer_deleted(patch.change_source)
        self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
        for run in self.live_runs():
            if run.line_id is not None and run.invoice_id is not None:
                self.emit(LineDelete(line_id=run.line_id, invoice_id=run.invoice_id))
        self.set_state(current_run_id=None)
        self.set_status("deleted")
        self.set_advance_after(None)
        if self.charge.base.intent_deleted_at is not None:
            self.update(deleted_at=self.now)

    def shrink_to_realized_period(self, end: dt.datetime, **_: Any) -> None:
        """§4.5, §7.5: the customer deleted the unbilled progressive tail. The charge now ends where its
        latest non-voided run ends: that run becomes the final realization, the gathering tail goes and
        an override carries the shortened effective period. The status is left for the advance pass."""
        self._refuse_while_issuing("shrink_to_realized_period")
        end = end.replace(microsecond=0)
        period = self.period
        latest = self.latest_run()
        if not period.start < end < period.end:
            raise ChargeValidationError(
                f"charge {self.charge.id}: shrink_to_realized_period end {end.isoformat()} must lie strictly inside"
                f" {period}", charge_id=self.charge.id, field="end")
        if latest is None or latest.service_period.end != end:
            realized = "no realization run" if latest is None else f"{latest.service_period.end.isoformat()}"
            raise ChargeValidationError(
                f"charge {self.charge.id}: shrink_to_realized_period end {end.isoformat()} is not the end of the"
                f" latest realization run ({realized})", charge_id=self.charge.id, field="end")
        if latest.type == "partial_invoice":
            self.put_run(latest.model_copy(update={"type": "final_realization"}))
        layer = self.charge.effective
        self.update(override=layer.model_copy(update={
            "managed_by": "manual",
            "service_period": Period(start=period.start, end=end),
            "invoice_at": min(layer.invoice_at, end),
        }))
        self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))

    def _require_unrealized(self, trigger: str) -> None:
        if self.current_run is not None or self.live_runs():
            raise self.refuse(trigger, "the charge already has realization runs")

    def set_override(self, override: Any, **_: Any) -> None:
        self._require_unrealized("set_override")
        if override.intent_deleted_at is not None:
            raise ChargeValidationError(f"charge {self.charge.id}: an override cannot set intent_deleted_at",
                                        charge_id=self.charge.id, field="intent_deleted_at")
        self.update(override=override)
        self.upsert_tail()

    def clear_override(self, **_: Any) -> None:
        self._require_unrealized("clear_override")
        self.update(override=None)
        if self.charge.base.intent_deleted_at is not None:
            self.emit(DeleteGatheringLineByChargeId(charge_id=self.charge.id))
            self.set_status("deleted")
            self.set_advance_after(None)
            self.update(deleted_at=self.now)
        else:
            self.upsert_tail()
