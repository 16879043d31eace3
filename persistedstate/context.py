"""Who a load is for: the namespace, subscription and customer every integrity error carries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class LoadContext(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str
    subscription_id: str
    customer_id: str

    def error_context(self, identity: str | None) -> dict[str, Any]:
        """Keyword arguments for a ``SyncError``: namespace, subscription, customer and identity."""
        return {
            "namespace": self.namespace,
            "subscription_id": self.subscription_id,
            "customer_id": self.customer_id,
            "identity": identity,
        }
