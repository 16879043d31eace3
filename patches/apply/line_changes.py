"""Building a replacement line from a stored line and a step's ``LineChanges`` (reconciler.md §5.3).

The new values of the set changes are written over the stored line; everything else (ids, identity,
annotations, metadata, totals, the subscription reference) stays. A flat line is created with
``price = flat(per_unit_amount, payment_term)``; an amount-only change keeps the two equal. The result is validated again as
the stored line's class, so a flat line's ``per_unit_amount`` follows a new flat price and a usage
price never keeps a per-unit amount.
"""

from __future__ import annotations

from typing import Any, TypeVar

from billing.lines import Line
from billing.prices import FlatPrice
from patches.model import LineChanges

L = TypeVar("L", bound=Line)


def apply_line_changes(line: L, changes: LineChanges) -> L:
    updates: dict[str, Any] = changes.new_values()
    if "price" in updates and "per_unit_amount" not in updates:
        price = updates["price"]
        # A flat line's per-unit amount is its (prorated) price amount; a usage line has none.
        updates["per_unit_amount"] = price.amount if isinstance(price, FlatPrice) else None
    elif "per_unit_amount" in updates and isinstance(line.price, FlatPrice):
        # A new flat line is created with price = flat(per_unit_amount, term); keep the two together.
        updates["price"] = line.price.model_copy(update={"amount": updates["per_unit_amount"]})
    data = {name: getattr(line, name) for name in type(line).model_fields}
    data.update(updates)
    return type(line).model_validate(data)
