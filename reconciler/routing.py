"""Backend routing (reconciler.md §3.5, charges.md §7.1).

The existing backend always wins: a persisted item is handled by the collection of its shape. A new
target goes to its default collection. New targets are never routed to the hierarchy collection:
only billing creates split-line hierarchies.
"""

from __future__ import annotations

from typing import Literal

from patches.errors import PlanInvariantError
from reconciler.settings import CreditResolution
from subscriptions.prices import FlatPrice
from targetstate.items import TargetItem

ShapeName = Literal["invoice.line", "invoice.split_line_group", "charge.flat_fee", "charge.usage_based"]

LINE: ShapeName = "invoice.line"
HIERARCHY: ShapeName = "invoice.split_line_group"
FLAT_FEE_CHARGE: ShapeName = "charge.flat_fee"
USAGE_CHARGE: ShapeName = "charge.usage_based"

#: Collections in plan-assembly order (§3.15).
COLLECTION_ORDER: tuple[ShapeName, ...] = (LINE, HIERARCHY, FLAT_FEE_CHARGE, USAGE_CHARGE)
INVOICE_COLLECTIONS = frozenset({LINE, HIERARCHY})
CHARGE_COLLECTIONS = frozenset({FLAT_FEE_CHARGE, USAGE_CHARGE})

#: The engine that owns each collection's artifacts (§3.5).
ENGINES: dict[ShapeName, str] = {
    LINE: "invoicing",
    HIERARCHY: "invoicing",
    FLAT_FEE_CHARGE: "charge_flatfee",
    USAGE_CHARGE: "charge_usagebased",
}


def collection_of_shape(shape: str) -> ShapeName:
    """The collection that handles a persisted item of ``shape`` (the shape's own collection)."""
    value = getattr(shape, "value", shape)
    if value not in ENGINES:
        raise PlanInvariantError(f"no collection handles persisted shape {value!r}")
    return value  # type: ignore[return-value]


def default_collection(
    target: TargetItem, credits: CreditResolution, *, settlement_mode: str, context: dict[str, str | None]
) -> ShapeName:
    """The collection of a new target, first matching row of §3.5:

    1. credits disabled → line;
    2. ``credit_then_invoice`` settlement while credit-then-invoice is disabled → line;
    3. no price → ``PlanInvariantError`` (non-billable targets were filtered out before);
    4. flat price → flat-fee charge;
    5. any other price → usage-based charge.
    """
    if not credits.credits_enabled:
        return LINE
    if settlement_mode == "credit_then_invoice" and not credits.credit_then_invoice_enabled:
        return LINE
    price = target.item.rate_card.price
    if price is None:
        raise PlanInvariantError(
            "a target without a price reached routing; non-billable targets are filtered out first",
            identity=target.unique_id,
            **context,  # type: ignore[arg-type]
        )
    if isinstance(price, FlatPrice):
        return FLAT_FEE_CHARGE
    return USAGE_CHARGE
