"""``SyncStateStore``: the ``SyncStateRepo`` port of reconciler §8.2 (joins the current transaction)."""

from __future__ import annotations

from collections.abc import Sequence

from billing.store.unit_of_work import Store
from billing.sync_state import SubscriptionRef, SyncState


class SyncStateStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def upsert(self, state: SyncState) -> None:
        """Insert, or on (namespace, subscription_id) update has_billables, synced_at and next_sync_after."""
        with self.store.unit_of_work() as uow:
            uow.sync_states.upsert(state)

    def get_many(self, refs: Sequence[SubscriptionRef]) -> dict[SubscriptionRef, SyncState]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.sync_states.get_many(refs)

    def get(self, ref: SubscriptionRef) -> SyncState | None:
        return self.get_many([ref]).get(ref)

    def invalidate(self, ref: SubscriptionRef) -> None:
        with self.store.unit_of_work() as uow:
            uow.sync_states.invalidate(ref)
