"""Flat fee, ``credit_only`` (charges.md §3.5): realized entirely against credit, never invoiced.

``created`` → (``invoice_at`` reached) ``active`` → (booked-at reached) ``final``, where the credits
are allocated **exactly** (the ledger opens a negative balance for a shortfall). Period and override
changes rerate and reconcile an existing run; delete corrects the run's credits under policy
``correct``.
"""

from __future__ import annotations

from typing import Any

from billing.charges.credits import correct_all, reconcile
from billing.charges.errors import ChargeValidationError
from billing.charges.flat_fee.base import FlatFeeMachineBase
from billing.charges.machine import rule
from billing.charges.requests import DeletePatch, PeriodPatch

CLEAR_OVERRIDE = "active.clear_override"
DELETED_CLEAR_OVERRIDE = "deleted.clear_override"


class FlatFeeCreditOnly(FlatFeeMachineBase):
    rules = (
        rule("created", "next", "active", guard="invoice_at_reached"),  # FO-1
        rule("active", "next", "final", guard="booked_at_reached"),  # FO-2
        rule(("created", "active", "final"), "delete", action="delete"),  # FO-4
        rule(("created", "active", "final"), "set_override", action="set_override"),
        rule(("created", "active", "final"), "extend", action="period_patch"),
        rule(("created", "active", "final"), "shrink", action="period_patch"),
        rule(None, "clear_override", CLEAR_OVERRIDE, guard="base_live", action="restore_base"),  # FO-5
        rule(CLEAR_OVERRIDE, "next", action="after_clear_override"),
        rule(None, "clear_override", DELETED_CLEAR_OVERRIDE, guard="base_deleted", action="remove_override_and_delete"),  # FO-6
        rule(DELETED_CLEAR_OVERRIDE, "next", "deleted"),
    )
    activations = {
        "created": "activate_created",
        "active": "activate_active",
        "final": "allocate_credits",  # FO-3
    }

    def booked_at_reached(self, **_: Any) -> bool:
        return self.now >= self.booked_at()

    def activate_created(self) -> None:
        self.set_advance_after(self.charge.effective.invoice_at)

    def activate_active(self) -> None:
        self.set_advance_after(self.booked_at())

    def allocate_credits(self) -> None:
        """Rate the effective intent and reconcile the run's credits exactly to the rated total."""
        self.reconcile_run(create=True)
        self.set_advance_after(None)

    def reconcile_run(self, *, create: bool) -> None:
        rated = self.rated()
        run = self.current_run
        if run is None:
            if not create:
                return
            run = self.new_run(no_fiat_transaction_required=True)
            self.set_state(current_run_id=run.id)
        run = reconcile(self.ctx, self.charge, run, rated.total, exact=True, booked_at=self.booked_at(),
                        source_as_of=self.charge.effective.invoice_at, mode="credit_only")
        totals = rated.with_credits(run.net_allocations, precision=self.precision)
        self.put_run(run.model_copy(update={
            "totals": totals, "amount_after_proration": self.amount,
            "service_period": self.charge.effective.service_period}))

    # -- internal triggers -------------------------------------------------------------------------
    def period_patch(self, patch: PeriodPatch, **_: Any) -> None:
        self.apply_period(patch)
        self.recompute_amount()
        self.reconcile_run(create=False)

    def set_override(self, override: Any, **_: Any) -> None:
        if override.intent_deleted_at is not None:
            raise ChargeValidationError(f"charge {self.charge.id}: an override cannot set intent_deleted_at",
                                        charge_id=self.charge.id, field="intent_deleted_at")
        self.update(override=override)
        self.recompute_amount()
        self.reconcile_run(create=False)

    def delete(self, patch: DeletePatch, **_: Any) -> None:
        self.mark_layer_deleted()
        run = self.current_run
        if run is not None and patch.credit_refund == "correct":
            self.put_run(correct_all(self.ctx, self.charge, run, booked_at=self.now))
        self.soft_delete()

    def restore_base(self, **_: Any) -> None:
        self.update(override=None)
        self.recompute_amount()
        self.reconcile_run(create=False)

    def after_clear_override(self, **_: Any) -> None:
        if self.now >= self.booked_at():
            self.set_status("final")
        elif self.invoice_at_reached():
            self.set_status("active")
        else:
            self.set_status("created")

    def remove_override_and_delete(self, **_: Any) -> None:
        self.update(override=None)
        run = self.current_run
        if run is not None:
            self.put_run(correct_all(self.ctx, self.charge, run, booked_at=self.now))
        self.set_advance_after(None)
        self.update(deleted_at=self.now)
