"""Per-subscription sync state (reconciler §6.4): what the periodic job reads to decide on a resync."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from billing.types import UtcDatetime


class SubscriptionRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str
    subscription_id: str

    @field_validator("namespace", "subscription_id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must be non-empty")
        return value


class SyncState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str
    subscription_id: str
    has_billables: bool
    synced_at: UtcDatetime
    #: None: nothing is due by time (an edit or event triggers the next sync).
    next_sync_after: UtcDatetime | None = None

    @field_validator("subscription_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not value:
            raise ValueError("subscription_id must be non-empty")
        return value

    @property
    def ref(self) -> SubscriptionRef:
        return SubscriptionRef(namespace=self.namespace, subscription_id=self.subscription_id)
