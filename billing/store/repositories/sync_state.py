"""Per-subscription sync state (reconciler §6.4)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from billing.store.tables import SyncStateRow
from billing.sync_state import SubscriptionRef, SyncState


def _state_of(row: SyncStateRow) -> SyncState:
    return SyncState(
        namespace=row.namespace,
        subscription_id=row.subscription_id,
        has_billables=row.has_billables,
        synced_at=row.synced_at,
        next_sync_after=row.next_sync_after,
    )


class SyncStateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def upsert(self, state: SyncState) -> None:
        """Insert or overwrite the subscription's sync state in one statement (``ON CONFLICT``)."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(SyncStateRow).values(
            namespace=state.namespace, subscription_id=state.subscription_id, has_billables=state.has_billables,
            synced_at=state.synced_at, next_sync_after=state.next_sync_after,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["namespace", "subscription_id"],
            set_={column: statement.excluded[column] for column in ("has_billables", "synced_at", "next_sync_after")},
        )
        self.session.execute(statement)
        # A row this session loaded earlier now holds old values: reload it on next access.
        for loaded in list(self.session.identity_map.values()):
            if isinstance(loaded, SyncStateRow) and (loaded.namespace, loaded.subscription_id) == (
                state.namespace, state.subscription_id
            ):
                self.session.expire(loaded)

    def get_many(self, refs: Sequence[SubscriptionRef]) -> dict[SubscriptionRef, SyncState]:
        if not refs:
            return {}
        condition = or_(
            *(and_(SyncStateRow.namespace == r.namespace, SyncStateRow.subscription_id == r.subscription_id) for r in refs)
        )
        states = [_state_of(row) for row in self.session.scalars(select(SyncStateRow).where(condition))]
        return {state.ref: state for state in states}

    def invalidate(self, ref: SubscriptionRef) -> None:
        self.session.execute(
            delete(SyncStateRow).where(
                SyncStateRow.namespace == ref.namespace, SyncStateRow.subscription_id == ref.subscription_id
            )
        )
