"""The intent-layer rules every layered machine shares (charges.md §1.3, §7.5, §7.7)."""

from __future__ import annotations

from typing import Any

from billing.charges.machine import ChargeMachine
from billing.charges.requests import DeletePatch, PeriodPatch, apply_period_patch, check_period_patch


class LayeredMachine(ChargeMachine):
    def hides_base(self) -> bool:
        return self.charge.override is not None

    def patch_hidden_base(self, patch: DeletePatch | PeriodPatch) -> None:
        """A system patch while an override exists: only the base is mutated and persisted; no
        transition, no invoice patch, no re-rating (§7.7)."""
        base = self.charge.base
        if isinstance(patch, DeletePatch):
            self.update(base=base.model_copy(update={"intent_deleted_at": self.now}))
        else:
            check_period_patch(self.charge.id, base, patch)
            self.update(base=apply_period_patch(base, patch))
        self.persist()

    def apply_period(self, patch: PeriodPatch) -> None:
        check_period_patch(self.charge.id, self.charge.base, patch)
        self.update(base=apply_period_patch(self.charge.base, patch))

    def mark_layer_deleted(self, change_source: str = "system") -> None:
        """Mark the layer a delete targets (§7.5): a system delete the base; an API delete the override
        if one exists, else a new deleted override over a base not managed by hand (the base stays live
        for sync), else the (manual) base."""
        charge = self.charge
        if change_source == "api" and charge.override is not None:
            self.update(override=charge.override.model_copy(update={"intent_deleted_at": self.now}))
        elif change_source == "api" and charge.base.managed_by != "manual":
            self.update(override=charge.base.model_copy(update={"intent_deleted_at": self.now}))
        else:
            self.update(base=charge.base.model_copy(update={"intent_deleted_at": self.now}))

    def soft_delete(self) -> None:
        self.set_status("deleted")
        self.set_advance_after(None)
        self.update(deleted_at=self.now)

    def base_live(self, **_: Any) -> bool:
        return self.charge.override is not None and self.charge.base.intent_deleted_at is None

    def base_deleted(self, **_: Any) -> bool:
        return self.charge.override is not None and self.charge.base.intent_deleted_at is not None
