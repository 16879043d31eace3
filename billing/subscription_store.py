"""``SubscriptionStore``: subscriptions kept as rows with their opaque view JSON (the job's source)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from billing.period import Period
from billing.store.unit_of_work import Store
from billing.stored_subscriptions import StoredSubscription
from billing.types import require_utc


class SubscriptionStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def upsert_subscription(
        self,
        namespace: str,
        subscription_id: str,
        *,
        customer_id: str,
        view: dict[str, Any],
        active_from: dt.datetime,
        active_to: dt.datetime | None = None,
    ) -> StoredSubscription:
        """Insert or replace a subscription row; ``view`` is ``SubscriptionView.model_dump(mode="json")``."""
        active_from = require_utc(active_from, field="active_from")
        active_to = None if active_to is None else require_utc(active_to, field="active_to")
        with self.store.unit_of_work() as uow:
            uow.customers.require_row(namespace, customer_id)
            return uow.subscriptions.upsert(
                namespace=namespace, subscription_id=subscription_id, customer_id=customer_id, view=view,
                active_from=active_from, active_to=active_to, now=uow.now,
            )

    def get_subscription(self, namespace: str, subscription_id: str) -> StoredSubscription:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.subscriptions.get(namespace, subscription_id)

    def delete_subscription(self, namespace: str, subscription_id: str) -> StoredSubscription:
        with self.store.unit_of_work() as uow:
            return uow.subscriptions.mark_deleted(namespace, subscription_id, uow.now)

    def list_subscriptions(
        self,
        *,
        ids: Collection[str] | None = None,
        namespaces: Collection[str] | None = None,
        customer_ids: Collection[str] | None = None,
        active_in: Period | None = None,
        deleted_before: dt.datetime | None = None,
        include_deleted: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[StoredSubscription]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.subscriptions.list(
                ids=ids, namespaces=namespaces, customer_ids=customer_ids, active_in=active_in,
                deleted_before=deleted_before, include_deleted=include_deleted, offset=offset, limit=limit,
            )
