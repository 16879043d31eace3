"""Steps: the typed operations a patch is made of (reconciler.md §4.4).

A union discriminated by ``kind``. Line steps name a stored line by ``LineRef`` (its invoice, its
identity or split-line group, and its current period, so that texts never need a database id); the
applier groups them by ``invoice_id`` (§5.2). ``line_create`` carries a complete gathering line and the
currency of the gathering invoice it goes to (the applier's ``create:<currency>`` unit).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Discriminator, Tag, model_validator

from billing.lines import NewLine
from billing.period import Period
from patches.model.base import NonEmptyStr, Value
from patches.model.changes import ChargePeriodChanges, GroupChanges, LineChanges
from patches.model.enums import ChangeSource, StepKind
from patches.model.intents import ChargeIntent


class LineRef(Value):
    """A stored line: a standalone line (``identity``) or a split child (``split_line_group_id``)."""

    line_id: NonEmptyStr
    invoice_id: NonEmptyStr
    identity: str | None = None
    split_line_group_id: str | None = None
    #: The line's current service period (names split children in texts).
    service_period: Period

    @model_validator(mode="after")
    def _standalone_or_child(self) -> "LineRef":
        if (self.identity is None) == (self.split_line_group_id is None):
            raise ValueError(
                f"line ref {self.line_id!r}: exactly one of identity (standalone line) and"
                f" split_line_group_id (split child) must be set"
            )
        if self.identity == "" or self.split_line_group_id == "":
            raise ValueError(f"line ref {self.line_id!r}: identity and split_line_group_id must be non-empty when set")
        return self

    @property
    def is_split_child(self) -> bool:
        return self.split_line_group_id is not None


class LineCreate(Value):
    """A new gathering line: a standalone line with its identity, or a new split child of a group."""

    kind: Literal["line_create"] = "line_create"
    change_source: ChangeSource = "system"
    #: The currency of the gathering invoice the line goes to.
    currency: NonEmptyStr
    line: NewLine

    @model_validator(mode="after")
    def _complete_sync_line(self) -> "LineCreate":
        line = self.line
        what = f"line_create {line.child_unique_reference_id or line.split_line_group_id or line.name!r}"
        if (line.child_unique_reference_id is None) == (line.split_line_group_id is None):
            raise ValueError(f"{what}: the line needs exactly one of an identity and a split_line_group_id")
        if line.split_line_group_id == "":
            raise ValueError(f"{what}: split_line_group_id must be non-empty when set")
        if line.managed_by != "subscription":
            raise ValueError(f"{what}: sync creates subscription-managed lines, got managed_by {line.managed_by}")
        if line.charge_id is not None or line.engine != "invoicing":
            raise ValueError(f"{what}: sync never creates charge-managed lines")
        if line.service_period.is_inverted:
            raise ValueError(f"{what}: service_period {line.service_period} ends before it starts")
        return self

    @property
    def is_split_child(self) -> bool:
        return self.line.split_line_group_id is not None


class LineUpdate(Value):
    kind: Literal["line_update"] = "line_update"
    change_source: ChangeSource = "system"
    line: LineRef
    changes: LineChanges


class LineDelete(Value):
    kind: Literal["line_delete"] = "line_delete"
    change_source: ChangeSource = "system"
    line: LineRef


class GroupUpdate(Value):
    kind: Literal["group_update"] = "group_update"
    group_id: NonEmptyStr
    changes: GroupChanges


class GroupDelete(Value):
    kind: Literal["group_delete"] = "group_delete"
    group_id: NonEmptyStr


class ChargeCreate(Value):
    kind: Literal["charge_create"] = "charge_create"
    intent: ChargeIntent


class ChargeDelete(Value):
    """Delete a charge's base intent; ``refund_as_credits`` = credit refund ``correct``, invoice refund
    ``grant_credits``."""

    kind: Literal["charge_delete"] = "charge_delete"
    change_source: ChangeSource = "system"
    charge_id: NonEmptyStr
    refund_policy: Literal["refund_as_credits"] = "refund_as_credits"


class _ChargePeriodStep(Value):
    kind: Literal["charge_shrink", "charge_extend"]
    change_source: ChangeSource = "system"
    charge_id: NonEmptyStr
    changes: ChargePeriodChanges

    @model_validator(mode="after")
    def _direction(self) -> "_ChargePeriodStep":
        expected = self.kind.removeprefix("charge_")
        end = self.changes.service_period_end
        if self.changes.direction != expected:
            raise ValueError(
                f"{self.kind} of charge {self.charge_id!r}: service_period_end"
                f" {end.old.isoformat()} → {end.new.isoformat()} moves the wrong way for {self.kind}"
            )
        return self


class ChargeShrink(_ChargePeriodStep):
    kind: Literal["charge_shrink"] = "charge_shrink"


class ChargeExtend(_ChargePeriodStep):
    kind: Literal["charge_extend"] = "charge_extend"


Step = Annotated[
    Union[
        Annotated[LineCreate, Tag(StepKind.LINE_CREATE.value)],
        Annotated[LineUpdate, Tag(StepKind.LINE_UPDATE.value)],
        Annotated[LineDelete, Tag(StepKind.LINE_DELETE.value)],
        Annotated[GroupUpdate, Tag(StepKind.GROUP_UPDATE.value)],
        Annotated[GroupDelete, Tag(StepKind.GROUP_DELETE.value)],
        Annotated[ChargeCreate, Tag(StepKind.CHARGE_CREATE.value)],
        Annotated[ChargeDelete, Tag(StepKind.CHARGE_DELETE.value)],
        Annotated[ChargeShrink, Tag(StepKind.CHARGE_SHRINK.value)],
        Annotated[ChargeExtend, Tag(StepKind.CHARGE_EXTEND.value)],
    ],
    Discriminator("kind"),
]

LINE_STEPS = (LineCreate, LineUpdate, LineDelete)
LINE_REF_STEPS = (LineUpdate, LineDelete)
GROUP_STEPS = (GroupUpdate, GroupDelete)
CHARGE_STEPS = (ChargeCreate, ChargeDelete, ChargeShrink, ChargeExtend)
CHARGE_PATCH_STEPS = (ChargeDelete, ChargeShrink, ChargeExtend)
