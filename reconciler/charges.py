"""The charge collections (``charge.flat_fee``, ``charge.usage_based``; reconciler.md §3.13).

Both gather creates (new intents) and at most one patch per charge id. A persisted charge is
deleted when its target disappears and shrunk or extended when the target's service-period end moves;
the direction is decided by that end only, and an equal end gives nothing, whatever else differs (the
charge recomputes amounts from its periods itself). Charges are never prorated by sync and never
replaced by a delete and a re-create. No ownership or annotation checks apply to charges.
"""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from patches.errors import PlanInvariantError
from patches.model import (
    Change,
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargePeriodChanges,
    ChargeShrink,
    Operation,
    Patch,
    Shape,
)
from persistedstate.items import FlatFeeChargeItem, UsageBasedChargeItem
from reconciler.context import PlanContext
from reconciler.errors import DuplicateChargePatchError, UnsupportedOperationError
from reconciler.intents import flat_fee_intent, usage_based_intent
from reconciler.scope import ScopedTarget
from targetstate.items import TargetItem

ChargeItem = FlatFeeChargeItem | UsageBasedChargeItem


def _seconds(value: dt.datetime) -> dt.datetime:
    """The charge timestamp precision: whole seconds."""
    return value.replace(microsecond=0)


class ChargeCollection:
    shape: Shape

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        #: Creates and patches in planning order (§3.7).
        self.patches: list[Patch] = []
        self._charge_ids: set[str] = set()

    @property
    def creates(self) -> list[Patch]:
        return [patch for patch in self.patches if patch.operation is Operation.CREATE]

    @property
    def patches_by_charge_id(self) -> dict[str, Patch]:
        return {patch.charge_id: patch for patch in self.patches if patch.charge_id is not None}

    def _error(self, error: type[Exception], message: str, identity: str | None, **extra: object) -> Exception:
        return error(message, **self.ctx.error_context(identity), **extra)  # type: ignore[call-arg]

    def _intent(self, target: TargetItem):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def add_create(self, scoped: ScopedTarget) -> None:
        if not scoped.identity:
            raise self._error(PlanInvariantError, "a charge create needs the target identity", None)
        intent = self._intent(scoped.target)
        self.patches.append(
            Patch(
                operation=Operation.CREATE,
                identity=scoped.identity,
                shape=self.shape,
                subscription_id=self.ctx.subscription_id,
                steps=(ChargeCreate(intent=intent),),
            )
        )

    def _add_patch(self, operation: Operation, item: ChargeItem, step: object) -> None:
        charge_id = item.charge.id
        if not charge_id:
            raise self._error(PlanInvariantError, "a charge patch needs the charge id", item.identity)
        if charge_id in self._charge_ids:
            raise self._error(
                DuplicateChargePatchError,
                f"patch for charge ID {charge_id} already exists",
                item.identity,
                shape=self.shape.value,
                operation=operation.value,
                charge_id=charge_id,
            )
        self._charge_ids.add(charge_id)
        self.patches.append(
            Patch(
                operation=operation,
                identity=item.identity or "",
                shape=self.shape,
                subscription_id=self.ctx.subscription_id,
                steps=(step,),
            )
        )

    def add_delete(self, item: ChargeItem) -> None:
        """``charge_delete`` with ``refund_as_credits`` (credit refund ``correct``, invoice refund
        ``grant_credits``), change source system."""
        self._check_shape(item)
        self._add_patch(Operation.DELETE, item, ChargeDelete(charge_id=item.charge.id))

    def add_shrink(self, item: ChargeItem, target: TargetItem) -> None:
        self._period_patch(Operation.SHRINK, item, target)

    def add_extend(self, item: ChargeItem, target: TargetItem) -> None:
        self._period_patch(Operation.EXTEND, item, target)

    def add_prorate(self, item: ChargeItem, target: TargetItem) -> None:
        raise self._error(
            UnsupportedOperationError,
            "unsupported operation prorate for charge patches",
            item.identity,
            shape=self.shape.value,
            operation="prorate",
            charge_id=item.charge.id,
        )

    def _check_shape(self, item: ChargeItem) -> None:
        if item.shape != self.shape.value:
            raise self._error(
                PlanInvariantError,
                f"a {item.shape} item in the {self.shape.value} collection",
                item.identity,
            )

    def _period_patch(self, operation: Operation, item: ChargeItem, target: TargetItem) -> None:
        """The four period values old → new, each the target's, at the charge timestamp precision."""
        self._check_shape(item)
        base = item.charge.base
        step_type = ChargeShrink if operation is Operation.SHRINK else ChargeExtend
        try:
            changes = ChargePeriodChanges(
                service_period_end=Change(old=base.service_period.end, new=_seconds(target.service_period.end)),
                full_service_period_end=Change(
                    old=base.full_service_period.end, new=_seconds(target.full_service_period.end)
                ),
                billing_period_end=Change(old=base.billing_period.end, new=_seconds(target.billing_period.end)),
                invoice_at=Change(old=base.invoice_at, new=_seconds(target.invoice_at)),
            )
            step = step_type(charge_id=item.charge.id, changes=changes)
        except ValidationError as error:
            raise self._error(
                PlanInvariantError, f"invalid {operation.value} patch for charge {item.charge.id}: {error}", item.identity
            ) from error
        self._add_patch(operation, item, step)

    def diff(self, item: ChargeItem, target: TargetItem) -> None:
        """§3.8 for charges: only the service-period end decides."""
        existing_end = item.service_period.end
        target_end = _seconds(target.service_period.end)
        if target_end < existing_end:
            self.add_shrink(item, target)
        elif target_end > existing_end:
            self.add_extend(item, target)


class FlatFeeChargeCollection(ChargeCollection):
    shape = Shape.FLAT_FEE_CHARGE

    def _intent(self, target: TargetItem):  # type: ignore[no-untyped-def]
        facts = self.ctx.inputs.subscription
        return flat_fee_intent(target, customer_id=facts.customer_id, settlement_mode=facts.settlement_mode)


class UsageBasedChargeCollection(ChargeCollection):
    shape = Shape.USAGE_BASED_CHARGE

    def _intent(self, target: TargetItem):  # type: ignore[no-untyped-def]
        facts = self.ctx.inputs.subscription
        return usage_based_intent(target, customer_id=facts.customer_id, settlement_mode=facts.settlement_mode)
