"""The subscription port over the subscriptions billing stores (reconciler.md §8.2 ``SubscriptionPort``).

Billing keeps each subscription as a row holding the opaque JSON of its ``SubscriptionView``; this
adapter parses it back. A subscription counts as deleted when its row is deleted or its view carries
``deleted_at`` (``subscriptions.edits.delete``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from billing.period import Period
from billing.stored_subscriptions import StoredSubscription
from billing.subscription_store import SubscriptionStore
from subscriptions.models import SubscriptionView
from subsync.sync.errors import SubscriptionNotFoundError


class PageRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    page_number: int = Field(default=1, ge=1)
    page_size: int = Field(default=10_000, ge=1)


@dataclass(frozen=True)
class Page:
    items: tuple[StoredSubscription, ...]
    page_number: int
    page_size: int

    @property
    def is_last(self) -> bool:
        return len(self.items) < self.page_size


@dataclass(frozen=True)
class ResolvedSubscription:
    """A subscription found by id, deleted ones included, with its stored view."""

    namespace: str
    subscription_id: str
    customer_id: str
    view: SubscriptionView
    deleted: bool


def view_of(stored: StoredSubscription) -> SubscriptionView:
    return SubscriptionView.model_validate(stored.view)


def is_deleted(stored: StoredSubscription, view: SubscriptionView) -> bool:
    return stored.deleted_at is not None or view.subscription.deleted_at is not None


class StoredSubscriptions:
    """``SubscriptionPort`` over ``billing.subscription_store.SubscriptionStore``; joins the current transaction."""

    def __init__(self, store: SubscriptionStore) -> None:
        self.store = store

    def list_subscriptions(
        self,
        *,
        ids: Collection[str] | None = None,
        namespaces: Collection[str] | None = None,
        customer_ids: Collection[str] | None = None,
        active_in: Period | None = None,
        deleted_before: dt.datetime | None = None,
        include_deleted: bool = False,
        page: PageRequest = PageRequest(),
    ) -> Page:
        items = self.store.list_subscriptions(
            ids=ids, namespaces=namespaces, customer_ids=customer_ids, active_in=active_in,
            deleted_before=deleted_before, include_deleted=include_deleted,
            offset=(page.page_number - 1) * page.page_size, limit=page.page_size,
        )
        return Page(items=tuple(items), page_number=page.page_number, page_size=page.page_size)

    def get_view(self, namespace: str, subscription_id: str) -> SubscriptionView:
        """The current view of a subscription (deleted ones included; the caller decides what deleted means)."""
        return self.resolve(namespace, subscription_id).view

    def resolve(self, namespace: str, subscription_id: str) -> ResolvedSubscription:
        """Find the subscription by id, deleted ones included (§6.2 step 1)."""
        page = self.list_subscriptions(ids=[subscription_id], namespaces=[namespace], include_deleted=True,
                                       page=PageRequest(page_size=1))
        if not page.items:
            raise SubscriptionNotFoundError(
                f"subscription {subscription_id!r} not found in namespace {namespace!r}",
                namespace=namespace, subscription_id=subscription_id,
            )
        stored = page.items[0]
        view = view_of(stored)
        return ResolvedSubscription(
            namespace=stored.namespace, subscription_id=stored.id, customer_id=stored.customer_id, view=view,
            deleted=is_deleted(stored, view),
        )


__all__ = ["Page", "PageRequest", "ResolvedSubscription", "StoredSubscriptions"]
