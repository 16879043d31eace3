"""When the periodic job syncs a listed subscription (reconciler.md §7.2, test table §9.2.5).

Without ``force``, a subscription that has a sync state is left alone when

- ``has_billables`` is false (nothing to bill: a deleted subscription after its last sync, a free plan),
- ``next_sync_after`` is null (nothing is due by time; an edit or an event triggers the next sync), or
- ``next_sync_after`` is after ``now`` (not due yet).

A subscription without a sync state is always synced: that is how a new or deleted subscription gets
its first sync. With ``force`` every listed subscription is synced.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

from billing.sync_state import SyncState


class NotDue(str, Enum):
    """Why a listed subscription is not synced in this run."""

    NO_BILLABLES = "no_billables"
    NOTHING_DUE_BY_TIME = "nothing_due_by_time"
    NOT_DUE_YET = "not_due_yet"


def not_due_reason(state: SyncState | None, now: dt.datetime, *, force: bool = False) -> NotDue | None:
    """None when the subscription is to be synced now, else the rule that skips it."""
    if force or state is None:
        return None
    if not state.has_billables:
        return NotDue.NO_BILLABLES
    if state.next_sync_after is None:
        return NotDue.NOTHING_DUE_BY_TIME
    if state.next_sync_after > now:
        return NotDue.NOT_DUE_YET
    return None


def is_due(state: SyncState | None, now: dt.datetime, *, force: bool = False) -> bool:
    return not_due_reason(state, now, force=force) is None


__all__ = ["NotDue", "is_due", "not_due_reason"]
