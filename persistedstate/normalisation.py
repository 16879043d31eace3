"""Normalisation of loaded lines and hierarchies (reconciler.md §2.2). Loaded values are never
changed: a value that needs truncating is copied (a line already in whole seconds is returned as is;
models are frozen).

Old rows may hold sub-second instants; billing truncates what it writes, so without this step the
diff would propose the same no-op fix forever.

- line: truncate both ends of ``service_period``, ``invoice_at``, and ``subscription.billing_period``
  when the line has a subscription reference (billing's own ``normalize_line``);
- hierarchy: truncate the group's ``service_period``, then normalise each child like a line.
  Children are re-ordered by (start, end, line id) after truncation.

Charges are not normalised: their periods are read as stored.
"""

from __future__ import annotations

from typing import TypeVar

from billing.lines import Line
from billing.operations.normalize import normalize_line
from billing.split_lines import SplitLineHierarchy
from persistedstate.items import child_order

L = TypeVar("L", bound=Line)


def normalise_line(line: L) -> L:
    """``line`` with whole-second instants; ``line`` itself is left untouched."""
    return normalize_line(line)


def normalise_hierarchy(hierarchy: SplitLineHierarchy) -> SplitLineHierarchy:
    group = hierarchy.group.model_copy(update={"service_period": hierarchy.group.service_period.truncated()})
    children = tuple(
        sorted(
            (child.model_copy(update={"line": normalise_line(child.line)}) for child in hierarchy.children),
            key=child_order,
        )
    )
    return hierarchy.model_copy(update={"group": group, "children": children})
