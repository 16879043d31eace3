"""Small constructors shared by the invoice collections: line references and change sets."""

from __future__ import annotations

from typing import Any

from billing.lines import Line
from patches.model import Change, GroupChanges, LineChanges, LineRef
from reconciler.rendered import FieldChanges


def standalone_ref(line: Line) -> LineRef:
    return LineRef(
        line_id=line.id,
        invoice_id=line.invoice_id,
        identity=line.child_unique_reference_id,
        service_period=line.service_period,
    )


def child_ref(line: Line, group_id: str) -> LineRef:
    return LineRef(
        line_id=line.id,
        invoice_id=line.invoice_id,
        split_line_group_id=group_id,
        service_period=line.service_period,
    )


def _changes(changes: FieldChanges) -> dict[str, Any]:
    return {name: Change(old=old, new=new) for name, (old, new) in changes.items()}


def line_changes(changes: FieldChanges) -> LineChanges:
    return LineChanges(**_changes(changes))


def group_changes(changes: FieldChanges) -> GroupChanges:
    return GroupChanges(**_changes(changes))
