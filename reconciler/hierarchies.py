"""The hierarchy collection (``invoice.split_line_group``, reconciler.md §3.12).

A split-line hierarchy is a group (the full, unsplit period and the identity) with children spread
over gathering, mutable and immutable invoices. Sync never creates one (only billing splits lines);
it deletes it when the target disappears and otherwise makes group and children follow the target:

- inward moves (a): children on gathering / mutable invoices are clipped to the new period; a child
  left empty is deleted, never updated to a zero-length period (D-02: an already-deleted child is
  never deleted again);
- outward moves (b, c): the child at the moving edge grows, or, when it sits on an immutable invoice,
  a new child covers the uncovered period on the gathering invoice (D-04);
- rendered fields (d, D-01) of live, subscription-managed children on mutable invoices follow the
  expected line; manual children keep theirs but their period still follows the group;
- immutable children (e) only ever get drift issues, with their period clipped to the target;
- the group (f) takes the target period and rendered fields.

Any child annotated ``sync.ignore``, live or deleted, freezes the whole hierarchy: no patch, no issue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from billing.lines import ANNOTATION_SYNC_IGNORE, Line, NewLine
from billing.operations.normalize import normalize_line
from billing.period import Period
from billing.split_lines import SplitLineChild
from patches.model import GroupDelete, GroupUpdate, LineCreate, LineDelete, LineUpdate, Operation, Patch, Shape
from persistedstate.invoices import InvoiceSnapshot
from persistedstate.items import SplitLineGroupItem
from reconciler.building import child_ref, group_changes, line_changes
from reconciler.context import PlanContext
from reconciler.errors import UnsupportedOperationError
from reconciler.rendered import FieldChanges, content_changes, is_empty_truncated, ordered, period_label
from reconciler.scope import ScopedTarget
from reconciler.rendered import group_changes as group_field_changes

MUTABLE_CLASSES = ("gathering", "mutable")


def _order(child: SplitLineChild) -> tuple[dt.datetime, dt.datetime, str]:
    return (child.line.service_period.start, child.line.service_period.end, child.line.id)


def _end_order(child: SplitLineChild) -> tuple[dt.datetime, dt.datetime, str]:
    return (child.line.service_period.end, child.line.service_period.start, child.line.id)


def skip_hierarchy(item: SplitLineGroupItem, expected: NewLine | None) -> bool:
    """§3.12: the expected line or **any** child, live or deleted, carries ``sync.ignore``."""
    if expected is not None and expected.annotation(ANNOTATION_SYNC_IGNORE):
        return True
    return any(child.line.annotation(ANNOTATION_SYNC_IGNORE) for child in item.hierarchy.children)


@dataclass
class _ChildPlan:
    """The period a child on a gathering or mutable invoice should end up with."""

    child: SplitLineChild
    invoice: InvoiceSnapshot
    start: dt.datetime
    end: dt.datetime
    #: The child is the candidate of an outward move (b, c).
    grows: bool = False
    changes: FieldChanges = field(default_factory=dict)


class HierarchyCollection:
    shape = Shape.SPLIT_LINE_GROUP

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.patches: list[Patch] = []

    # -- helpers ---------------------------------------------------------------------------------

    def _invoice(self, item: SplitLineGroupItem, line: Line) -> InvoiceSnapshot:
        return self.ctx.invoice(line.invoice_id, identity=item.identity)

    def _patch(self, operation: str, item: SplitLineGroupItem, steps: list[object]) -> None:
        if not steps:
            return
        self.patches.append(
            Patch(
                operation=Operation(operation),
                identity=item.identity or "",
                shape=self.shape,
                subscription_id=self.ctx.subscription_id,
                steps=tuple(steps),
            )
        )

    # -- operations ------------------------------------------------------------------------------

    def add_create(self, scoped: ScopedTarget) -> None:
        raise UnsupportedOperationError(
            "unsupported operation create for line hierarchy invoice patches",
            shape=self.shape.value,
            operation="create",
            **self.ctx.error_context(scoped.identity),
        )

    def add_delete(self, item: SplitLineGroupItem) -> None:
        """Delete every live child on a gathering or mutable invoice (manual ones too); a live child on
        an immutable invoice stays with a "should be deleted" issue; the group is deleted only when no
        child remains live (D-03). Already-deleted children are left alone (D-02)."""
        if skip_hierarchy(item, None):
            return
        group = item.hierarchy.group
        steps: list[object] = []
        child_stays_live = False
        for child in sorted(item.hierarchy.children, key=_order):
            line = child.line
            if line.deleted_at is not None:
                continue
            invoice = self._invoice(item, line)
            if invoice.invoice_class in MUTABLE_CLASSES:
                steps.append(LineDelete(line=child_ref(line, group.id)))
                continue
            child_stays_live = True
            if invoice.invoice_class == "immutable":
                self.ctx.drift.delete(invoice, line)
        if not child_stays_live:
            steps.append(GroupDelete(group_id=group.id))
        self._patch("delete", item, steps)

    def add_update(self, item: SplitLineGroupItem, scoped: ScopedTarget) -> None:
        expected = scoped.expected
        assert expected is not None, "in-scope invoice targets carry an expected line"
        if skip_hierarchy(item, expected):
            return
        group = item.hierarchy.group
        old = group.service_period
        new = expected.service_period
        children = sorted(item.hierarchy.children, key=_order)
        invoices = {child.line.id: self._invoice(item, child.line) for child in children}

        plans: dict[str, _ChildPlan] = {}
        for child in children:
            invoice = invoices[child.line.id]
            if invoice.invoice_class not in MUTABLE_CLASSES:
                continue
            start, end = child.line.service_period.start, child.line.service_period.end
            # (a) inward moves
            if new.start > old.start:
                start = max(start, new.start)
            if new.end < old.end:
                end = min(end, new.end)
            plans[child.line.id] = _ChildPlan(child, invoice, start, end)

        before: list[object] = []
        after: list[object] = []
        eligible = [c for c in children if self._eligible(invoices[c.line.id])]
        if children and new.end > old.end:  # (b) outward end
            candidate = max(eligible, key=_end_order, default=None)
            if candidate is None:
                after.append(self._new_child(expected, group.id, old.end, new.end))
            elif candidate.line.id in plans:
                plan = plans[candidate.line.id]
                plan.end, plan.grows = new.end, True
            else:
                after.append(self._new_child(expected, group.id, candidate.line.service_period.end, new.end))
        if children and new.start < old.start:  # (c) outward start
            candidate = min(eligible, key=_order, default=None)
            if candidate is None:
                before.append(self._new_child(expected, group.id, new.start, old.start))
            elif candidate.line.id in plans:
                plan = plans[candidate.line.id]
                plan.start, plan.grows = new.start, True
            else:
                before.append(self._new_child(expected, group.id, new.start, candidate.line.service_period.start))

        steps: list[object] = list(before)
        for child in children:
            line = child.line
            plan = plans.get(line.id)
            if plan is not None:
                step = self._child_step(plan, expected, group.id)
                if step is not None:
                    steps.append(step)
            elif line.deleted_at is None and invoices[line.id].invoice_class == "immutable":
                self._drift(invoices[line.id], line, new, scoped.identity)  # (e)
        steps.extend(after)
        changes = group_field_changes(group, expected)  # (f)
        if changes:
            steps.append(GroupUpdate(group_id=group.id, changes=group_changes(changes)))
        self._patch(period_label(old, new), item, steps)  # (g)

    # -- the rules -------------------------------------------------------------------------------

    @staticmethod
    def _eligible(invoice: InvoiceSnapshot) -> bool:
        """Candidates of an outward move sit on an invoice that is neither gone nor a deleted
        standard invoice; their own live or manual state does not matter."""
        if invoice.invoice_class == "gone":
            return False
        return not (invoice.kind == "standard" and invoice.status == "deleted")

    def _child_step(self, plan: _ChildPlan, expected: NewLine, group_id: str) -> object | None:
        line = plan.child.line
        ref = child_ref(line, group_id)
        live = line.deleted_at is None
        if is_empty_truncated(plan.start, plan.end):
            # "emptied child": deleted, never updated to a zero-length period; D-02 when already deleted
            return LineDelete(line=ref) if live else None
        on_gathering = plan.invoice.invoice_class == "gathering"
        ours = line.managed_by == "subscription"
        changes: FieldChanges = {}
        period = Period(start=plan.start, end=plan.end)
        if period != line.service_period:
            changes["service_period"] = (line.service_period, period)
            if on_gathering and line.invoice_at != expected.invoice_at:
                changes["invoice_at"] = (line.invoice_at, expected.invoice_at)
            if ours and not live:
                changes["deleted_at"] = (line.deleted_at, None)
        if ours and (live or "deleted_at" in changes):  # (d) rendered fields, D-01
            for name, change in content_changes(line, expected, on_gathering=on_gathering, with_period=False).items():
                changes.setdefault(name, change)
        if not changes:
            return None
        return LineUpdate(line=ref, changes=line_changes(ordered(changes)))

    def _new_child(self, expected: NewLine, group_id: str, start: dt.datetime, end: dt.datetime) -> LineCreate:
        """A new split child on the gathering invoice for an uncovered period (D-04): no identity,
        subscription-managed, with the expected line's price, name, discounts, tax configuration,
        feature and subscription reference."""
        data = expected.model_dump()
        data.update(
            child_unique_reference_id=None,
            split_line_group_id=group_id,
            service_period=Period(start=start, end=end),
            annotations={},
            metadata={},
        )
        return LineCreate(currency=self.ctx.currency, line=normalize_line(NewLine.model_validate(data)))

    def _drift(self, invoice: InvoiceSnapshot, line: Line, target: Period, identity: str) -> None:
        """(e): the change an immutable child would get is its period clipped to the target."""
        start = max(line.service_period.start, target.start)
        end = min(line.service_period.end, target.end)
        if is_empty_truncated(start, end):
            self.ctx.drift.delete(invoice, line)
        else:
            self.ctx.drift.usage_update(invoice, line, period=Period(start=start, end=end), identity=identity)
