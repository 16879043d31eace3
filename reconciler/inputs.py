"""What the planner reads (reconciler.md §3): one frozen ``PlanInputs`` value.

The persisted state and the target state are built elsewhere (``persistedstate``, ``targetstate``);
the subscription facts say who the plan is for; the settings and whether a charges port exists decide
routing; ``has_billables`` and ``as_of`` are recorded in the plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator, model_validator

from persistedstate.state import PersistedState
from reconciler.settings import SyncSettings, credits_misconfigured
from targetstate.items import TargetState

SettlementMode = Literal["credit_then_invoice", "credit_only"]


class SubscriptionFacts(BaseModel):
    """The subscription a plan is for, and how it settles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str
    subscription_id: str
    customer_id: str
    #: The fiat invoice currency code (the plan's currency).
    currency: str
    settlement_mode: SettlementMode = "credit_then_invoice"


class PlanInputs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    persisted: PersistedState
    target: TargetState
    subscription: SubscriptionFacts
    settings: SyncSettings = SyncSettings()
    charges_port_configured: bool = False
    has_billables: bool = True
    as_of: AwareDatetime

    @field_validator("as_of")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.timezone.utc)

    @model_validator(mode="after")
    def _consistent(self) -> "PlanInputs":
        if credits_misconfigured(self.settings, charges_port_configured=self.charges_port_configured):
            # The sync service refuses this at construction (ConfigurationError, §3.2); a planner
            # that saw it would route new targets to a backend nobody can write.
            raise ValueError("credits_enabled requires a configured charges port")
        return self

    def error_context(self) -> dict[str, Any]:
        """Keyword arguments every planning error carries (identity is added per error)."""
        return {
            "namespace": self.subscription.namespace,
            "subscription_id": self.subscription.subscription_id,
            "customer_id": self.subscription.customer_id,
        }
