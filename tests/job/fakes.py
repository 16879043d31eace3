"""Fake ports for unit tests of the job: a listing over in-memory rows, sync states, a spy service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing.stored_subscriptions import StoredSubscription
from billing.sync_state import SubscriptionRef, SyncState
from subsync.sync import Page, SyncResult

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 3, 15, tzinfo=UTC)
NAMESPACE = "ns"


def stored(subscription_id: str, *, customer: str = "cus", deleted: bool = False,
           active_from: dt.datetime = dt.datetime(2024, 1, 1, tzinfo=UTC),
           active_to: dt.datetime | None = None, namespace: str = NAMESPACE) -> StoredSubscription:
    return StoredSubscription(
        id=subscription_id, namespace=namespace, customer_id=customer, view={}, active_from=active_from,
        active_to=active_to, created_at=active_from, updated_at=active_from,
        deleted_at=NOW - dt.timedelta(days=1) if deleted else None, sequence=0,
    )


def state(subscription_id: str, *, has_billables: bool = True, next_sync_after: dt.datetime | None = None,
          namespace: str = NAMESPACE) -> SyncState:
    return SyncState(namespace=namespace, subscription_id=subscription_id, has_billables=has_billables,
                     synced_at=NOW - dt.timedelta(days=1), next_sync_after=next_sync_after)


class FakeListing:
    """``list_subscriptions`` over fixed rows; records every call's filters."""

    def __init__(self, rows: list[StoredSubscription]) -> None:
        self.rows = rows
        self.calls: list[dict[str, Any]] = []

    def list_subscriptions(self, **filters: Any) -> Page:
        self.calls.append(filters)
        page = filters["page"]
        if filters.get("deleted_before") is not None:
            rows = [r for r in self.rows if r.deleted_at is not None and r.deleted_at <= filters["deleted_before"]]
        else:
            period = filters["active_in"]
            rows = [r for r in self.rows if r.deleted_at is None and r.active_from <= period.end
                    and (r.active_to is None or r.active_to >= period.start)]
        if filters.get("customer_ids"):
            rows = [r for r in rows if r.customer_id in filters["customer_ids"]]
        if filters.get("namespaces"):
            rows = [r for r in rows if r.namespace in filters["namespaces"]]
        start = (page.page_number - 1) * page.page_size
        return Page(items=tuple(rows[start : start + page.page_size]), page_number=page.page_number,
                    page_size=page.page_size)


class FakeSyncStates:
    def __init__(self, states: list[SyncState] = ()) -> None:  # type: ignore[assignment]
        self.states = {s.ref: s for s in states}
        self.requests: list[int] = []

    def get_many(self, refs: list[SubscriptionRef]) -> dict[SubscriptionRef, SyncState]:
        self.requests.append(len(refs))
        return {ref: self.states[ref] for ref in refs if ref in self.states}


class SpyService:
    """Records ``sync_by_id`` calls; raises for the ids in ``failing``."""

    def __init__(self, failing: dict[str, Exception] | None = None) -> None:
        self.calls: list[tuple[str, str, dt.datetime, Any]] = []
        self.failing = failing or {}

    def sync_by_id(self, namespace: str, subscription_id: str, as_of: dt.datetime, options: Any) -> SyncResult:
        self.calls.append((namespace, subscription_id, as_of, options))
        if subscription_id in self.failing:
            raise self.failing[subscription_id]
        return SyncResult(view=None, deleted=False, plan=None, skipped=False)

    @property
    def synced_ids(self) -> list[str]:
        return [call[1] for call in self.calls]


class FixedClock:
    def __init__(self, now: dt.datetime = NOW) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now
