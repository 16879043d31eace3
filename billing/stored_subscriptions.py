"""Subscriptions as the store keeps them: the periodic job's source of truth.

Billing does not know the subscription model: ``view`` is the opaque JSON dump of a
``subscriptions.SubscriptionView`` (``view.model_dump(mode="json")``); the application parses it back.
``active_from`` / ``active_to`` are copied out of the view by the caller so that listings can filter.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from billing.types import UtcDatetime


class StoredSubscription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    namespace: str
    customer_id: str
    view: dict[str, Any]
    active_from: UtcDatetime
    active_to: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    sequence: int

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None
