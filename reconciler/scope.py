"""In-scope filtering (reconciler.md §3.6, targetstate.md §8.6).

For every target item, in the builder's order: drop it when it is not billable; pick its collection
(the persisted one when its identity exists, otherwise the default of §3.5); keep it for a charge
collection (the charge decides about zero amounts itself); for an invoice collection compute the
expected line and drop the item when there is none (a zero amount, or an in-arrears item with an
empty full service period), so that an existing invoice artifact is deleted. A dropped item is
treated exactly as if it were absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.lines import NewLine
from reconciler.context import PlanContext
from reconciler.errors import InvalidCurrencyError
from reconciler.expected import to_new_line
from reconciler.routing import CHARGE_COLLECTIONS, ShapeName, collection_of_shape, default_collection
from targetstate.errors import InvalidCurrencyError as TargetInvalidCurrencyError
from targetstate.items import TargetItem


@dataclass(frozen=True)
class ScopedTarget:
    """An in-scope target: its collection and, for the invoice backend, its expected line as billing
    would store it."""

    target: TargetItem
    collection: ShapeName
    expected: NewLine | None = None

    @property
    def identity(self) -> str:
        return self.target.unique_id


def expected_line(ctx: PlanContext, target: TargetItem) -> NewLine | None:
    """The target's expected gathering line in billing's model, or None when it gets no line."""
    try:
        line = target.expected_line()
    except TargetInvalidCurrencyError as error:
        raise InvalidCurrencyError(error.message, **ctx.error_context(target.unique_id)) from error
    return None if line is None else to_new_line(line)


def route(ctx: PlanContext, target: TargetItem) -> ShapeName:
    existing = ctx.items.get(target.unique_id)
    if existing is not None:
        return collection_of_shape(existing.shape)
    return default_collection(
        target,
        ctx.credits,
        settlement_mode=ctx.inputs.subscription.settlement_mode,
        context=ctx.error_context(),
    )


def in_scope(ctx: PlanContext) -> list[ScopedTarget]:
    scoped: list[ScopedTarget] = []
    for target in ctx.inputs.target.items:
        if not target.is_billable:
            continue
        collection = route(ctx, target)
        if collection in CHARGE_COLLECTIONS:
            scoped.append(ScopedTarget(target, collection))
            continue
        line = expected_line(ctx, target)
        if line is not None:
            scoped.append(ScopedTarget(target, collection, line))
    return scoped
