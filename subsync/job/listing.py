"""Which subscriptions the periodic job looks at (reconciler.md §7.1).

Two paginated passes, page size ``settings.reconcile_page_size``:

1. non-deleted subscriptions active in ``[now − lookback, now]``;
2. every deleted subscription (``deleted_at <= now``), with no lookback: each must be reconciled at
   least once so that what it still owns in billing is removed.

Both passes are filtered by namespace and customer when given. Each page's sync states are fetched in
one query per 200 and attached. A listed subscription keeps only what the job needs (ids, active
range, sync state): ``StoreListing`` does not even read the stored view (the sync reads it again), so
memory stays flat in the number of subscriptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import or_, select

from billing.period import Period
from billing.store import Store
from billing.store.tables import SubscriptionRow
from billing.sync_state import SubscriptionRef, SyncState
from subsync.sync.subscriptions import Page, PageRequest


#: Sync states fetched per query.
STATE_CHUNK = 200


class ListingPort(Protocol):
    def list_subscriptions(self, **filters: Any) -> Page: ...


class SyncStatesPort(Protocol):
    def get_many(self, refs: list[SubscriptionRef]) -> dict[SubscriptionRef, SyncState]: ...


@dataclass(frozen=True)
class ListedSubscription:
    namespace: str
    subscription_id: str
    customer_id: str
    active_from: dt.datetime
    active_to: dt.datetime | None
    deleted: bool
    sync_state: SyncState | None

    @property
    def ref(self) -> SubscriptionRef:
        return SubscriptionRef(namespace=self.namespace, subscription_id=self.subscription_id)


@dataclass(frozen=True)
class SubscriptionHead:
    """A stored subscription without its view: what the listing needs."""

    id: str
    namespace: str
    customer_id: str
    active_from: dt.datetime
    active_to: dt.datetime | None
    deleted_at: dt.datetime | None


class StoreListing:
    """``list_subscriptions`` over the store reading only the columns the job needs.

    The filters and order are those of ``SubscriptionRepository.list`` (creation order; ``active_in``
    keeps subscriptions whose active range meets the period; ``deleted_before`` keeps rows deleted by
    then); the stored view is left in the database, so a page of 10 000 subscriptions costs a few
    megabytes instead of a hundred (``tests/job/test_listing_store.py`` compares both).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def list_subscriptions(
        self,
        *,
        namespaces: Collection[str] | None = None,
        customer_ids: Collection[str] | None = None,
        active_in: Period | None = None,
        deleted_before: dt.datetime | None = None,
        include_deleted: bool = False,
        page: PageRequest = PageRequest(),
    ) -> Page:
        row = SubscriptionRow
        query = select(row.id, row.namespace, row.customer_id, row.active_from, row.active_to, row.deleted_at)
        if namespaces is not None:
            query = query.where(row.namespace.in_(list(namespaces)))
        if customer_ids is not None:
            query = query.where(row.customer_id.in_(list(customer_ids)))
        if active_in is not None:
            query = query.where(row.active_from <= active_in.end,
                                or_(row.active_to.is_(None), row.active_to >= active_in.start))
        if deleted_before is not None:
            query = query.where(row.deleted_at.is_not(None), row.deleted_at <= deleted_before)
        elif not include_deleted:
            query = query.where(row.deleted_at.is_(None))
        query = query.order_by(row.sequence).offset((page.page_number - 1) * page.page_size).limit(page.page_size)
        with self.store.unit_of_work(read_only=True) as uow:
            items = tuple(SubscriptionHead(*values) for values in uow.session.execute(query))
        return Page(items=items, page_number=page.page_number, page_size=page.page_size)  # type: ignore[arg-type]


def require_positive_lookback(lookback: dt.timedelta) -> dt.timedelta:
    if not isinstance(lookback, dt.timedelta) or lookback <= dt.timedelta(0):
        raise ValueError(f"lookback must be positive, got {lookback}")
    return lookback


def list_pages(
    subscriptions: ListingPort,
    sync_states: SyncStatesPort,
    *,
    now: dt.datetime,
    lookback: dt.timedelta,
    namespaces: Collection[str] | None = None,
    customers: Collection[str] | None = None,
    page_size: int = 10_000,
) -> Iterator[list[ListedSubscription]]:
    """The listed subscriptions, one page at a time, in listing order (live first, then deleted).

    Raises ``ValueError`` at once (before any query) when ``lookback`` is not positive.
    """
    require_positive_lookback(lookback)
    filters: dict[str, Any] = {
        "namespaces": list(namespaces) if namespaces else None,
        "customer_ids": list(customers) if customers else None,
    }
    passes = (
        {"active_in": Period(start=now - lookback, end=now)},
        {"deleted_before": now, "include_deleted": True},
    )
    return _pages(subscriptions, sync_states, filters, passes, page_size)


def _pages(
    subscriptions: ListingPort,
    sync_states: SyncStatesPort,
    filters: dict[str, Any],
    passes: tuple[dict[str, Any], ...],
    page_size: int,
) -> Iterator[list[ListedSubscription]]:
    for pass_filters in passes:
        number = 1
        while True:
            page = subscriptions.list_subscriptions(
                **filters, **pass_filters, page=PageRequest(page_number=number, page_size=page_size)
            )
            if page.items:
                yield _with_states(page.items, sync_states)
            if page.is_last:
                break
            number += 1


def _with_states(items: tuple[Any, ...], sync_states: SyncStatesPort) -> list[ListedSubscription]:
    refs = [SubscriptionRef(namespace=item.namespace, subscription_id=item.id) for item in items]
    states: dict[SubscriptionRef, SyncState] = {}
    # ``get_many`` ORs one condition per ref; SQLite refuses expressions deeper than 1000 terms.
    for start in range(0, len(refs), STATE_CHUNK):
        states.update(sync_states.get_many(refs[start : start + STATE_CHUNK]))
    return [
        ListedSubscription(
            namespace=item.namespace,
            subscription_id=item.id,
            customer_id=item.customer_id,
            active_from=item.active_from,
            active_to=item.active_to,
            deleted=item.deleted_at is not None or _view_deleted(item),
            sync_state=states.get(ref),
        )
        for item, ref in zip(items, refs)
    ]


def _view_deleted(item: Any) -> bool:
    view = getattr(item, "view", None)  # a ``StoredSubscription``; a ``SubscriptionHead`` has no view
    subscription = view.get("subscription") if isinstance(view, dict) else None
    return isinstance(subscription, dict) and subscription.get("deleted_at") is not None


__all__ = ["ListedSubscription", "StoreListing", "SubscriptionHead", "list_pages", "require_positive_lookback"]
