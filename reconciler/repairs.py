"""Reference repair before planning (reconciler.md §3.3, charges.md §7.8).

A subscription edit can recreate the row of a subscription item while its identity stays the same;
a charge must then follow the current row. The planner never writes (DIVERGES D-07): it records a
``ReferenceRepair`` for the applier and plans against an in-memory copy of the charge that already
carries the new item id (the override layer is kept as it is).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from patches.model import Change, ReferenceRepair, Shape
from persistedstate.errors import ChargeReferenceMismatchError, DuplicateIdentityError
from persistedstate.items import FlatFeeChargeItem, PersistedItem, UsageBasedChargeItem
from targetstate.items import TargetItem


def unique_by_identity(
    targets: Iterable[TargetItem], *, context: Mapping[str, Any], message: str
) -> dict[str, TargetItem]:
    """The targets by identity; two with one identity raise ``DuplicateIdentityError`` (scope target)."""
    result: dict[str, TargetItem] = {}
    for target in targets:
        if target.unique_id in result:
            raise DuplicateIdentityError(
                message,
                scope="target",
                first_shape="target",
                second_shape="target",
                identity=target.unique_id,
                **context,
            )
        result[target.unique_id] = target
    return result


def repair_references(
    items: Mapping[str, PersistedItem], targets: Iterable[TargetItem], *, context: Mapping[str, Any]
) -> tuple[dict[str, PersistedItem], list[ReferenceRepair]]:
    """The persisted items with repaired charge references, and the repairs in identity order."""
    billable = unique_by_identity(
        (target for target in targets if target.is_billable),
        context=context,
        message="duplicate unique ids in the billable target items",
    )
    repaired: dict[str, PersistedItem] = dict(items)
    repairs: list[ReferenceRepair] = []
    for identity in sorted(items):
        item = items[identity]
        target = billable.get(identity)
        if target is None or not isinstance(item, (FlatFeeChargeItem, UsageBasedChargeItem)):
            continue
        charge = item.charge
        reference = charge.subscription
        if reference is None:
            raise ChargeReferenceMismatchError(
                f"charge {charge.id} has no subscription reference", charge_id=charge.id, identity=identity, **context
            )
        if reference.subscription_id != target.subscription.id or reference.phase_id != target.phase_id:
            raise ChargeReferenceMismatchError(
                f"charge {charge.id} references subscription {reference.subscription_id} phase "
                f"{reference.phase_id}, the target is subscription {target.subscription.id} phase {target.phase_id}",
                charge_id=charge.id,
                identity=identity,
                **context,
            )
        if reference.item_id == target.item.id:
            continue
        repairs.append(
            ReferenceRepair(
                identity=identity,
                shape=Shape(item.shape),
                charge_id=charge.id,
                item_id=Change(old=reference.item_id, new=target.item.id),
            )
        )
        new_charge = charge.model_copy(update={"subscription": reference.model_copy(update={"item_id": target.item.id})})
        repaired[identity] = item.model_copy(update={"charge": new_charge})
    return repaired, repairs
