"""Subscriptions as stored rows (opaque view JSON), the periodic job's source of truth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from billing.errors import NotFoundError
from billing.period import Period
from billing.store.tables import SubscriptionRow
from billing.stored_subscriptions import StoredSubscription


def _of(row: SubscriptionRow) -> StoredSubscription:
    return StoredSubscription(
        id=row.id,
        namespace=row.namespace,
        customer_id=row.customer_id,
        view=dict(row.view),
        active_from=row.active_from,
        active_to=row.active_to,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        sequence=row.sequence,
    )


class SubscriptionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, namespace: str, subscription_id: str) -> SubscriptionRow | None:
        return self.session.scalars(
            select(SubscriptionRow).where(SubscriptionRow.namespace == namespace, SubscriptionRow.id == subscription_id)
        ).one_or_none()

    def get(self, namespace: str, subscription_id: str) -> StoredSubscription:
        row = self._row(namespace, subscription_id)
        if row is None:
            raise NotFoundError(f"subscription {subscription_id!r} not found in namespace {namespace!r}")
        return _of(row)

    def upsert(
        self,
        *,
        namespace: str,
        subscription_id: str,
        customer_id: str,
        view: dict[str, Any],
        active_from: dt.datetime,
        active_to: dt.datetime | None,
        now: dt.datetime,
    ) -> StoredSubscription:
        row = self._row(namespace, subscription_id)
        if row is None:
            row = SubscriptionRow(id=subscription_id, namespace=namespace, created_at=now, deleted_at=None)
            self.session.add(row)
        row.customer_id = customer_id
        row.view = view
        row.active_from = active_from
        row.active_to = active_to
        row.updated_at = now
        self.session.flush()
        return _of(row)

    def mark_deleted(self, namespace: str, subscription_id: str, now: dt.datetime) -> StoredSubscription:
        row = self._row(namespace, subscription_id)
        if row is None:
            raise NotFoundError(f"subscription {subscription_id!r} not found in namespace {namespace!r}")
        if row.deleted_at is None:
            row.deleted_at = now
            row.updated_at = now
        self.session.flush()
        return _of(row)

    def list(
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
        """Subscriptions in creation order; ``active_in`` keeps those whose active range meets the period."""
        query = select(SubscriptionRow)
        if ids is not None:
            query = query.where(SubscriptionRow.id.in_(list(ids)))
        if namespaces is not None:
            query = query.where(SubscriptionRow.namespace.in_(list(namespaces)))
        if customer_ids is not None:
            query = query.where(SubscriptionRow.customer_id.in_(list(customer_ids)))
        if active_in is not None:
            query = query.where(
                SubscriptionRow.active_from <= active_in.end,
                or_(SubscriptionRow.active_to.is_(None), SubscriptionRow.active_to >= active_in.start),
            )
        if deleted_before is not None:
            query = query.where(SubscriptionRow.deleted_at.is_not(None), SubscriptionRow.deleted_at <= deleted_before)
        elif not include_deleted:
            query = query.where(SubscriptionRow.deleted_at.is_(None))
        query = query.order_by(SubscriptionRow.sequence).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [_of(row) for row in self.session.scalars(query)]
