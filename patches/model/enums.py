"""Operations, shapes, step kinds and invoice classes (reconciler.md §1.1, §4.2, §4.4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Operation(StrEnum):
    CREATE = "create"
    DELETE = "delete"
    SHRINK = "shrink"
    EXTEND = "extend"
    PRORATE = "prorate"

    @property
    def symbol(self) -> str:
        """The category symbol of the text diff: ``+`` create, ``-`` delete, ``~`` in-place change."""
        return {"create": "+", "delete": "-"}.get(self.value, "~")


class Shape(StrEnum):
    LINE = "invoice.line"
    SPLIT_LINE_GROUP = "invoice.split_line_group"
    FLAT_FEE_CHARGE = "charge.flat_fee"
    USAGE_BASED_CHARGE = "charge.usage_based"

    @property
    def is_charge(self) -> bool:
        return self in (Shape.FLAT_FEE_CHARGE, Shape.USAGE_BASED_CHARGE)

    @property
    def is_invoice(self) -> bool:
        return not self.is_charge

    @property
    def collection_rank(self) -> int:
        """Plan order of the collections (§3.15): line, hierarchy, flat-fee charge, usage charge."""
        return SHAPE_ORDER.index(self)


SHAPE_ORDER: tuple[Shape, ...] = (
    Shape.LINE,
    Shape.SPLIT_LINE_GROUP,
    Shape.FLAT_FEE_CHARGE,
    Shape.USAGE_BASED_CHARGE,
)


class StepKind(StrEnum):
    LINE_CREATE = "line_create"
    LINE_UPDATE = "line_update"
    LINE_DELETE = "line_delete"
    GROUP_UPDATE = "group_update"
    GROUP_DELETE = "group_delete"
    CHARGE_CREATE = "charge_create"
    CHARGE_DELETE = "charge_delete"
    CHARGE_SHRINK = "charge_shrink"
    CHARGE_EXTEND = "charge_extend"


_LINE_STEPS = frozenset({StepKind.LINE_CREATE, StepKind.LINE_UPDATE, StepKind.LINE_DELETE})
_CHARGE_STEPS = frozenset(
    {StepKind.CHARGE_CREATE, StepKind.CHARGE_DELETE, StepKind.CHARGE_SHRINK, StepKind.CHARGE_EXTEND}
)

#: §4.4 "Allowed in shape".
ALLOWED_STEPS: dict[Shape, frozenset[StepKind]] = {
    Shape.LINE: _LINE_STEPS,
    Shape.SPLIT_LINE_GROUP: _LINE_STEPS | {StepKind.GROUP_UPDATE, StepKind.GROUP_DELETE},
    Shape.FLAT_FEE_CHARGE: _CHARGE_STEPS,
    Shape.USAGE_BASED_CHARGE: _CHARGE_STEPS,
}

#: §1.1: what sync may do to the lines of an invoice of each class.
InvoiceClass = Literal["gathering", "mutable", "immutable", "gone"]
InvoiceKind = Literal["gathering", "standard"]

#: Every line step and charge patch step is made by the system, never the API.
ChangeSource = Literal["system"]
