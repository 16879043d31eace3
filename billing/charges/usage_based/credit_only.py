"""Usage based, ``credit_only`` (charges.md §4.3): UO-1 … UO-7.

At the end of the service period one final run is created, rated cumulatively and its credits
allocated exactly; after the ingestion bound (``stored_at_lt``) plus the internal collection period
the run is rated once more, reconciled, and the charge completes. Period and override changes after
activation void every run and realize the charge again from scratch.
"""

from __future__ import annotations

from typing import Any

from billing.charges.credits import correct_all, reconcile
from billing.charges.errors import ChargeValidationError
from billing.charges.machine import rule
from billing.charges.requests import DeletePatch, PeriodPatch
from billing.charges.usage_based.base import UsageMachineBase

STARTED = "active.realization.started"
WAITING = "active.realization.waiting_for_collection"
PROCESSING = "active.realization.processing"
COMPLETED = "active.realization.completed"
CLEAR_OVERRIDE = "active.clear_override"
DELETED_CLEAR_OVERRIDE = "deleted.clear_override"
CHANGEABLE = ("created", "active", STARTED, WAITING, COMPLETED, "final")


class UsageBasedCreditOnly(UsageMachineBase):
    rules = (
        rule("created", "next", "active", guard="from_reached"),  # UO-1
        rule("active", "next", STARTED, guard="to_reached"),  # UO-2
        rule(STARTED, "next", WAITING),  # UO-3
        rule(WAITING, "next", PROCESSING, guard="collection_done"),  # UO-4
        rule(PROCESSING, "next", COMPLETED),  # UO-5
        rule(COMPLETED, "next", "final"),  # UO-6
        rule(CHANGEABLE, "delete", action="delete"),
        rule(CHANGEABLE, "extend", action="period_patch"),
        rule(CHANGEABLE, "shrink", action="period_patch"),
        rule(CHANGEABLE, "set_override", action="set_override"),
        rule(CHANGEABLE, "clear_override", CLEAR_OVERRIDE, guard="base_live", action="restore_base"),
        rule(CLEAR_OVERRIDE, "next", action="after_clear_override"),
        rule(CHANGEABLE, "clear_override", DELETED_CLEAR_OVERRIDE, guard="base_deleted", action="remove_override_and_delete"),
        rule(DELETED_CLEAR_OVERRIDE, "next", "deleted"),
    )
    activations = {
        "created": "activate_created",
        "active": "activate_active",
        STARTED: "start_final_run",
        WAITING: "activate_waiting",
        PROCESSING: "finish_run",
        "final": "activate_final",
    }

    def collection_done(self, **_: Any) -> bool:
        run = self.current_run
        return run is not None and self.now >= self.collection_done_at(run)

    def activate_created(self) -> None:
        self.set_advance_after(self.period.start)

    def activate_active(self) -> None:
        self.set_advance_after(self.period.end)

    def activate_final(self) -> None:
        self.set_advance_after(None)

    def _reconcile_exact(self, run):  # type: ignore[no-untyped-def]
        run = self.rerate(run)
        run = reconcile(self.ctx, self.charge, run, run.totals.total, exact=True, booked_at=run.service_period.end,
                        source_as_of=run.service_period.end, mode="credit_only")
        return self.with_credit_totals(run)

    def start_final_run(self) -> None:
        if self.current_run is not None:
            return
        run = self._reconcile_exact(self.new_run(self.period.end, final=True, no_fiat_transaction_required=True))
        self.put_run(run)
        self.set_state(current_run_id=run.id)

    def activate_waiting(self) -> None:
        run = self.current_run
        if run is not None:
            self.set_advance_after(self.collection_done_at(run))

    def finish_run(self) -> None:
        run = self.current_run
        if run is None:
            return
        self.put_run(self._reconcile_exact(run).model_copy(update={"immutable": True}))
        self.set_state(current_run_id=None)

    # -- internal triggers (§4.5, §7.6) --------------------------------------------------------------
    def _restart(self) -> None:
        if self.status == "created":
            return
        self.void_all_runs()
        self.set_status("active")

    def period_patch(self, patch: PeriodPatch, **_: Any) -> None:
        self.apply_period(patch)
        self._restart()

    def set_override(self, override: Any, **_: Any) -> None:
        if override.intent_deleted_at is not None:
            raise ChargeValidationError(f"charge {self.charge.id}: an override cannot set intent_deleted_at",
                                        charge_id=self.charge.id, field="intent_deleted_at")
        self.update(override=override)
        self._restart()

    def delete(self, patch: DeletePatch, **_: Any) -> None:
        self.mark_layer_deleted()
        if patch.credit_refund == "correct":
            for run in self.live_runs():
                self.put_run(correct_all(self.ctx, self.charge, run, booked_at=self.now))
        self.set_state(current_run_id=None)
        self.soft_delete()

    def restore_base(self, **_: Any) -> None:
        self.update(override=None)
        self.void_all_runs()

    def after_clear_override(self, **_: Any) -> None:
        self.set_status("active" if self.from_reached() else "created")

    def remove_override_and_delete(self, **_: Any) -> None:
        self.update(override=None)
        for run in self.live_runs():
            self.put_run(correct_all(self.ctx, self.charge, run, booked_at=self.now))
        self.set_state(current_run_id=None)
        self.set_advance_after(None)
        self.update(deleted_at=self.now)
