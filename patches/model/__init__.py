"""The patch vocabulary and the ``Plan`` value (reconciler.md §4).

Import everything from here; the submodules are an implementation detail:

- ``enums``: ``Operation``, ``Shape``, ``StepKind``, ``InvoiceClass``, ``ALLOWED_STEPS``;
- ``base``: ``Change[T]`` and the hashable frozen ``Value`` base;
- ``changes``: ``LineChanges``, ``GroupChanges``, ``ChargePeriodChanges``;
- ``intents``: ``FlatFeeChargeIntent``, ``UsageBasedChargeIntent`` (``ChargeIntent``);
- ``steps``: ``LineRef`` and the nine steps (``Step``);
- ``patch``: ``Patch`` and its invariants;
- ``plan``: ``InvoiceHeader``, ``IssueLine``, ``IssueUpdate``, ``ReferenceRepair``, ``Plan``;
- ``text``: the one-line texts behind ``describe()`` and ``patches.render``.
"""

from patches.model.base import Change, NonEmptyStr, Value
from patches.model.changes import CHARGE_PERIOD_FIELDS, ChargePeriodChanges, GroupChanges, LineChanges
from patches.model.enums import ALLOWED_STEPS, SHAPE_ORDER, ChangeSource, InvoiceClass, InvoiceKind, Operation, Shape, StepKind
from patches.model.intents import ChargeIntent, FlatFeeChargeIntent, UsageBasedChargeIntent
from patches.model.patch import Patch
from patches.model.plan import (
    SYNC_ISSUE_CODE,
    SYNC_ISSUE_COMPONENT,
    InvoiceHeader,
    IssueLine,
    IssueUpdate,
    Plan,
    ReferenceRepair,
)
from patches.model.steps import (
    CHARGE_PATCH_STEPS,
    CHARGE_STEPS,
    GROUP_STEPS,
    LINE_REF_STEPS,
    LINE_STEPS,
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargeShrink,
    GroupDelete,
    GroupUpdate,
    LineCreate,
    LineDelete,
    LineRef,
    LineUpdate,
    Step,
)

__all__ = [
    "ALLOWED_STEPS",
    "CHARGE_PATCH_STEPS",
    "CHARGE_PERIOD_FIELDS",
    "CHARGE_STEPS",
    "GROUP_STEPS",
    "LINE_REF_STEPS",
    "LINE_STEPS",
    "SHAPE_ORDER",
    "SYNC_ISSUE_CODE",
    "SYNC_ISSUE_COMPONENT",
    "Change",
    "ChangeSource",
    "ChargeCreate",
    "ChargeDelete",
    "ChargeExtend",
    "ChargeIntent",
    "ChargePeriodChanges",
    "ChargeShrink",
    "FlatFeeChargeIntent",
    "GroupChanges",
    "GroupDelete",
    "GroupUpdate",
    "InvoiceClass",
    "InvoiceHeader",
    "InvoiceKind",
    "IssueLine",
    "IssueUpdate",
    "LineChanges",
    "LineCreate",
    "LineDelete",
    "LineRef",
    "LineUpdate",
    "NonEmptyStr",
    "Operation",
    "Patch",
    "Plan",
    "ReferenceRepair",
    "Shape",
    "Step",
    "StepKind",
    "UsageBasedChargeIntent",
    "Value",
]
