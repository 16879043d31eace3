"""The plan: a value holding everything one sync would do (reconciler.md §4.7, §4.8).

A plan is computed once, can be rendered, stored as JSON and applied later (against the persisted
state whose fingerprint is its ``basis``). Its invariants are checked at construction:

- patches are in collection order (line, hierarchy, flat-fee charge, usage-based charge), one per
  identity, all of the plan's subscription; one charge step per charge id; new lines and intents
  in the plan's currency and (intents) for the plan's customer and subscription;
- every invoice a step or issue update names has a header in ``invoices``; line steps touch only
  ``gathering`` and ``mutable`` invoices, and only gathering lines change ``invoice_at``;
- issue updates target ``immutable`` invoices, in invoice-id order, one per invoice;
- repairs in identity order, one per charge; headers in id order, one per invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import Field, model_validator

from billing.invoices import ValidationIssue
from billing.period import Period
from billing.types import UtcDatetime
from patches.model.base import Change, NonEmptyStr, Value
from patches.model.enums import InvoiceClass, InvoiceKind, Shape
from patches.model.patch import Patch
from patches.model.steps import ChargeCreate, LineCreate, LineDelete, LineUpdate

#: The only validation issues sync adds and removes (reconciler §1.4).
SYNC_ISSUE_COMPONENT = "subscription-sync"
SYNC_ISSUE_CODE = "immutable_invoice_handling_not_supported"
_LINE_PATH_PREFIX = "lines/"


class InvoiceHeader(Value):
    """What a plan needs to know about a persisted invoice: enough to name it and route its steps."""

    id: NonEmptyStr
    kind: InvoiceKind
    status: NonEmptyStr
    invoice_class: InvoiceClass
    currency: NonEmptyStr

    @model_validator(mode="after")
    def _class_fits_kind(self) -> "InvoiceHeader":
        allowed = {"gathering": ("gathering", "gone"), "standard": ("mutable", "immutable")}[self.kind]
        if self.invoice_class not in allowed:
            raise ValueError(f"invoice {self.id}: a {self.kind} invoice cannot be of class {self.invoice_class}")
        if self.kind == "standard" and self.status == "deleted" and self.invoice_class != "immutable":
            raise ValueError(f"invoice {self.id}: a deleted standard invoice is immutable")
        return self


class IssueLine(Value):
    """The line an issue path ``lines/<line_id>`` names, so texts can name it without its id.

    ``identity`` is the line's identity, or its group's identity for a split child, whose current
    period is then ``child_period``.
    """

    line_id: NonEmptyStr
    identity: NonEmptyStr
    child_period: Period | None = None

    @property
    def name(self) -> str:
        from patches.model.text import line_name

        return line_name(self.identity, self.child_period)


def _issue_key(issue: ValidationIssue) -> tuple[str, str, str, str]:
    """Issues are the same issue when path, component, code and message are equal (§3.10)."""
    return (issue.path, issue.component, issue.code, issue.message)


class IssueUpdate(Value):
    """Sync-owned validation issues to add to and remove from one immutable invoice."""

    invoice_id: NonEmptyStr
    add: tuple[ValidationIssue, ...] = ()
    remove: tuple[ValidationIssue, ...] = ()
    #: Every line the issues of ``add`` and ``remove`` name, once each.
    lines: tuple[IssueLine, ...] = ()

    @model_validator(mode="after")
    def _invariants(self) -> "IssueUpdate":
        what = f"issue update of invoice {self.invoice_id}"
        if not self.add and not self.remove:
            raise ValueError(f"{what}: add or remove must be non-empty")
        for label, issues in (("add", self.add), ("remove", self.remove)):
            order = [(issue.path, issue.message) for issue in issues]
            if order != sorted(order):
                raise ValueError(f"{what}: {label} must be sorted by (path, message)")
            if len({_issue_key(issue) for issue in issues}) != len(issues):
                raise ValueError(f"{what}: {label} holds the same issue twice")
        if {_issue_key(i) for i in self.add} & {_issue_key(i) for i in self.remove}:
            raise ValueError(f"{what}: an issue cannot be both added and removed")
        named = {line.line_id for line in self.lines}
        if len(named) != len(self.lines):
            raise ValueError(f"{what}: lines names a line twice")
        used: set[str] = set()
        for issue in self.add + self.remove:
            if issue.component != SYNC_ISSUE_COMPONENT or issue.code != SYNC_ISSUE_CODE:
                raise ValueError(
                    f"{what}: sync only touches its own issues ({SYNC_ISSUE_COMPONENT}/{SYNC_ISSUE_CODE}),"
                    f" got {issue.component}/{issue.code}"
                )
            line_id = issue.path.removeprefix(_LINE_PATH_PREFIX)
            if not issue.path.startswith(_LINE_PATH_PREFIX) or line_id not in named:
                raise ValueError(f"{what}: issue path {issue.path!r} does not name a line of this update's lines")
            used.add(line_id)
        if used != named:
            raise ValueError(f"{what}: lines {sorted(named - used)} are named by no issue")
        return self

    def line(self, issue: ValidationIssue) -> IssueLine:
        """The line the issue's path names."""
        line_id = issue.path.removeprefix(_LINE_PATH_PREFIX)
        return next(line for line in self.lines if line.line_id == line_id)

    def describe(self, names: Mapping[str, str] | None = None) -> list[str]:
        """One ``! issue <+|-> …`` line per issue, added ones first (§4.9)."""
        from patches.model.text import describe_issue

        lines = {line.line_id: line for line in self.lines}
        named = names or {}
        return [
            describe_issue(self.invoice_id, issue, sign, lines[issue.path.removeprefix(_LINE_PATH_PREFIX)], named)
            for sign, issues in (("+", self.add), ("-", self.remove))
            for issue in issues
        ]


class ReferenceRepair(Value):
    """Point a charge at the subscription item row that now carries its identity (§3.3)."""

    identity: NonEmptyStr
    shape: Shape
    charge_id: NonEmptyStr
    item_id: Change[NonEmptyStr]

    @model_validator(mode="after")
    def _invariants(self) -> "ReferenceRepair":
        if not self.shape.is_charge:
            raise ValueError(f"reference repair of {self.identity}: only charges are repaired, not {self.shape.value}")
        if self.item_id.old == self.item_id.new:
            raise ValueError(f"reference repair of {self.identity}: item_id does not change ({self.item_id.old!r})")
        return self

    def describe(self) -> str:
        """``* repair <shape> <identity>: item_id "<old>" → "<new>"``."""
        from patches.model.text import describe_repair

        return describe_repair(self)


class Plan(Value):
    format_version: Literal[1] = 1
    namespace: str
    subscription_id: NonEmptyStr
    customer_id: NonEmptyStr
    currency: NonEmptyStr
    as_of: UtcDatetime
    #: The fingerprint (hex SHA-256) of the persisted state the plan was computed from.
    basis: str = Field(pattern=r"^[0-9a-f]{64}$")
    has_billables: bool
    max_generation_time_limit: UtcDatetime | None = None
    reference_repairs: tuple[ReferenceRepair, ...] = ()
    patches: tuple[Patch, ...] = ()
    issue_updates: tuple[IssueUpdate, ...] = ()
    invoices: tuple[InvoiceHeader, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.reference_repairs or self.patches or self.issue_updates)

    @property
    def invoices_by_id(self) -> Mapping[str, InvoiceHeader]:
        return {header.id: header for header in self.invoices}

    def invoice(self, invoice_id: str) -> InvoiceHeader:
        for header in self.invoices:
            if header.id == invoice_id:
                return header
        raise KeyError(f"plan of subscription {self.subscription_id}: no invoice {invoice_id}")

    @model_validator(mode="after")
    def _invariants(self) -> "Plan":
        what = f"plan of subscription {self.subscription_id}"
        _strictly_sorted([h.id for h in self.invoices], f"{what}: invoices must be in id order, once each")
        _strictly_sorted([u.invoice_id for u in self.issue_updates], f"{what}: issue updates must be in invoice-id order, one per invoice")
        _sorted([r.identity for r in self.reference_repairs], f"{what}: reference repairs must be in identity order")
        if len({r.charge_id for r in self.reference_repairs}) != len(self.reference_repairs):
            raise ValueError(f"{what}: more than one reference repair for one charge")
        invoices = self.invoices_by_id
        ranks = [patch.shape.collection_rank for patch in self.patches]
        if ranks != sorted(ranks):
            raise ValueError(f"{what}: patches must be in collection order (line, hierarchy, flat-fee charge, usage-based charge)")
        identities: set[str] = set()
        charge_ids: set[str] = set()
        for patch in self.patches:
            where = f"{what}: patch {patch.operation.value} {patch.shape.value} {patch.identity}"
            if patch.subscription_id != self.subscription_id:
                raise ValueError(f"{where}: belongs to subscription {patch.subscription_id}")
            if patch.identity in identities:
                raise ValueError(f"{where}: a second patch for the identity")
            identities.add(patch.identity)
            charge_id = patch.charge_id
            if charge_id is not None:
                if charge_id in charge_ids:
                    raise ValueError(f"{where}: a second charge step for charge {charge_id}")
                charge_ids.add(charge_id)
            for step in patch.steps:
                self._check_step(step, invoices, where)
        for update in self.issue_updates:
            header = invoices.get(update.invoice_id)
            if header is None or header.invoice_class != "immutable":
                raise ValueError(
                    f"{what}: issue update of invoice {update.invoice_id}: issues are planned only for immutable"
                    f" invoices in the plan's invoices"
                )
        return self

    def _check_step(self, step: object, invoices: Mapping[str, InvoiceHeader], where: str) -> None:
        if isinstance(step, LineCreate) and step.currency != self.currency:
            raise ValueError(f"{where}: new line in {step.currency}, the plan is in {self.currency}")
        if isinstance(step, ChargeCreate):
            intent = step.intent
            if intent.currency != self.currency or intent.customer_id != self.customer_id:
                raise ValueError(f"{where}: the intent is for {intent.customer_id}/{intent.currency}, not the plan's customer and currency")
            if intent.subscription.subscription_id != self.subscription_id:
                raise ValueError(f"{where}: the intent references subscription {intent.subscription.subscription_id}")
        if isinstance(step, (LineUpdate, LineDelete)):
            header = invoices.get(step.line.invoice_id)
            if header is None:
                raise ValueError(f"{where}: invoice {step.line.invoice_id} is not among the plan's invoices")
            if header.invoice_class not in ("gathering", "mutable"):
                raise ValueError(f"{where}: {step.kind} on {header.invoice_class} invoice {header.id}; sync only changes gathering and mutable invoices")
            if isinstance(step, LineUpdate) and step.changes.invoice_at is not None and header.invoice_class != "gathering":
                raise ValueError(f"{where}: invoice_at of a standard line belongs to billing (invoice {header.id})")


def _sorted(values: list[str], message: str) -> None:
    if values != sorted(values):
        raise ValueError(message)


def _strictly_sorted(values: list[str], message: str) -> None:
    if values != sorted(set(values)):
        raise ValueError(message)


__all__ = ["InvoiceHeader", "IssueLine", "IssueUpdate", "Plan", "ReferenceRepair", "SYNC_ISSUE_CODE", "SYNC_ISSUE_COMPONENT"]
