"""The sync-state update rule (reconciler.md §6.4).

| Condition                                                   | Written row                                     |
|-------------------------------------------------------------|-------------------------------------------------|
| "prevent further syncs" (deleted customer) or no billables  | has_billables=false, next_sync_after=null       |
| billables and a generation limit                            | has_billables=true, next_sync_after=limit       |
| billables and no generation limit                           | has_billables=true, next_sync_after=null        |

``synced_at`` is always the sync's ``now``. The row is written only after a successful apply (or an
empty plan), in the sync transaction, and never in a dry run; the service enforces that, this module
only decides the values.
"""

from __future__ import annotations

import datetime as dt

from billing.sync_state import SyncState


def next_sync_state(
    *,
    namespace: str,
    subscription_id: str,
    now: dt.datetime,
    has_billables: bool,
    max_generation_time_limit: dt.datetime | None,
    prevent_further_syncs: bool = False,
) -> SyncState:
    """The row a sync writes for the subscription, per the table above."""
    if prevent_further_syncs or not has_billables:
        return SyncState(
            namespace=namespace, subscription_id=subscription_id, has_billables=False, synced_at=now,
            next_sync_after=None,
        )
    return SyncState(
        namespace=namespace, subscription_id=subscription_id, has_billables=True, synced_at=now,
        next_sync_after=max_generation_time_limit,
    )
