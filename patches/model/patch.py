"""A patch: the steps that reconcile one identity in one collection (reconciler.md §4.5, §4.6).

Invariants (checked at construction, so an invalid patch cannot exist):

- every step is allowed in the shape (§4.4);
- ``create``: one ``line_create`` of the identity (``invoice.line``) or one ``charge_create`` of the
  identity and the shape's charge type; a hierarchy is never created by sync;
- ``delete``: deletes only (one line or charge delete; a hierarchy's child deletes, then at most one
  group delete);
- ``shrink`` / ``extend`` / ``prorate``: line updates and deletes, new split children and at most one
  group update (last), or exactly one ``charge_shrink`` / ``charge_extend`` matching the operation;
  ``prorate`` never carries a charge step;
- a standalone line patch has exactly one step, on the line of its identity; a hierarchy patch names
  one group and at most one step per child.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import model_validator

from patches.model.base import NonEmptyStr, Value
from patches.model.enums import ALLOWED_STEPS, Operation, Shape
from patches.model.steps import (
    CHARGE_PATCH_STEPS,
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargeShrink,
    GroupDelete,
    GroupUpdate,
    LineCreate,
    LineDelete,
    LineUpdate,
    Step,
)

_CHARGE_TYPE = {Shape.FLAT_FEE_CHARGE: "flat_fee", Shape.USAGE_BASED_CHARGE: "usage_based"}


class Patch(Value):
    operation: Operation
    identity: NonEmptyStr
    shape: Shape
    subscription_id: NonEmptyStr
    steps: tuple[Step, ...]

    @model_validator(mode="after")
    def _invariants(self) -> "Patch":
        what = f"{self.operation.value} {self.shape.value} {self.identity}"
        if not self.steps:
            raise ValueError(f"patch {what}: a patch has at least one step")
        allowed = ALLOWED_STEPS[self.shape]
        for step in self.steps:
            if step.kind not in allowed:
                raise ValueError(f"patch {what}: step {step.kind} is not allowed in shape {self.shape.value}")
        if self.shape is Shape.LINE:
            _check_line_patch(self, what)
        elif self.shape is Shape.SPLIT_LINE_GROUP:
            _check_group_patch(self, what)
        else:
            _check_charge_patch(self, what)
        return self

    @property
    def symbol(self) -> str:
        return self.operation.symbol

    @property
    def charge_id(self) -> str | None:
        """The id of the charge a delete / shrink / extend patch targets (``None`` otherwise)."""
        for step in self.steps:
            if isinstance(step, CHARGE_PATCH_STEPS):
                return step.charge_id
        return None

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        """The invoices whose stored lines this patch updates or deletes, in step order, once each."""
        seen: dict[str, None] = {}
        for step in self.steps:
            if isinstance(step, (LineUpdate, LineDelete)):
                seen.setdefault(step.line.invoice_id, None)
        return tuple(seen)

    def describe(self, names: Mapping[str, str] | None = None, *, currency: str | None = None) -> str:
        """The one-line text of §4.9: ``<sym> <operation> <shape> <identity>: <detail>; …``.

        ``names`` maps invoice ids to display names (an unnamed invoice shows as ``invoice:<id>``;
        ``render_text`` passes a complete mapping). ``currency`` sets the precision of amounts; without
        it amounts show as stored.
        """
        from patches.model.text import describe_patch

        return describe_patch(self, names or {}, currency)


def _check_line_patch(patch: Patch, what: str) -> None:
    if len(patch.steps) != 1:
        raise ValueError(f"patch {what}: a standalone line patch has exactly one step, got {len(patch.steps)}")
    (step,) = patch.steps
    if isinstance(step, LineCreate):
        if patch.operation is not Operation.CREATE:
            raise ValueError(f"patch {what}: line_create belongs to a create patch")
        if step.line.child_unique_reference_id != patch.identity:
            raise ValueError(
                f"patch {what}: the new line's identity {step.line.child_unique_reference_id!r} is not the patch's"
            )
        return
    if patch.operation is Operation.CREATE:
        raise ValueError(f"patch {what}: a create patch holds only a line_create, got {step.kind}")
    if patch.operation is Operation.DELETE and not isinstance(step, LineDelete):
        raise ValueError(f"patch {what}: a delete patch holds only deletes, got {step.kind}")
    if step.line.identity != patch.identity:
        raise ValueError(f"patch {what}: step {step.kind} targets line {step.line.identity!r}, not the patch identity")


def _check_group_patch(patch: Patch, what: str) -> None:
    if patch.operation is Operation.CREATE:
        raise ValueError(f"patch {what}: sync never creates a split-line hierarchy (only billing splits lines)")
    group_ids: set[str] = set()
    line_ids: set[str] = set()
    for index, step in enumerate(patch.steps):
        last = index == len(patch.steps) - 1
        if isinstance(step, (GroupUpdate, GroupDelete)):
            if not last:
                raise ValueError(f"patch {what}: the group step comes after every child step")
            if isinstance(step, GroupDelete) and patch.operation is not Operation.DELETE:
                raise ValueError(f"patch {what}: group_delete belongs to a delete patch")
            if isinstance(step, GroupUpdate) and patch.operation is Operation.DELETE:
                raise ValueError(f"patch {what}: a delete patch holds only deletes, got group_update")
            group_ids.add(step.group_id)
        elif isinstance(step, LineCreate):
            if not step.is_split_child:
                raise ValueError(f"patch {what}: a hierarchy patch creates split children only (no identity)")
            if patch.operation is Operation.DELETE:
                raise ValueError(f"patch {what}: a delete patch holds only deletes, got line_create")
            group_ids.add(step.line.split_line_group_id)  # type: ignore[arg-type]
        else:
            if patch.operation is Operation.DELETE and not isinstance(step, LineDelete):
                raise ValueError(f"patch {what}: a delete patch holds only deletes, got {step.kind}")
            if not step.line.is_split_child:
                raise ValueError(f"patch {what}: step {step.kind} names a standalone line, not a split child")
            if step.line.line_id in line_ids:
                raise ValueError(f"patch {what}: more than one step for the same child line")
            line_ids.add(step.line.line_id)
            group_ids.add(step.line.split_line_group_id)  # type: ignore[arg-type]
    if len(group_ids) != 1:
        raise ValueError(f"patch {what}: a hierarchy patch concerns exactly one split-line group, got {len(group_ids)}")


def _check_charge_patch(patch: Patch, what: str) -> None:
    if len(patch.steps) != 1:
        raise ValueError(f"patch {what}: a charge patch has exactly one charge step, got {len(patch.steps)}")
    (step,) = patch.steps
    expected = {
        Operation.CREATE: ChargeCreate,
        Operation.DELETE: ChargeDelete,
        Operation.SHRINK: ChargeShrink,
        Operation.EXTEND: ChargeExtend,
    }.get(patch.operation)
    if expected is None:
        raise ValueError(f"patch {what}: charges are never prorated (no charge step in a prorate patch)")
    if not isinstance(step, expected):
        raise ValueError(f"patch {what}: a {patch.operation.value} charge patch holds one {expected.model_fields['kind'].default}, got {step.kind}")
    if isinstance(step, ChargeCreate):
        if step.intent.type != _CHARGE_TYPE[patch.shape]:
            raise ValueError(f"patch {what}: a {step.intent.type} intent in shape {patch.shape.value}")
        if step.intent.unique_reference_id != patch.identity:
            raise ValueError(f"patch {what}: the intent's identity {step.intent.unique_reference_id!r} is not the patch's")
