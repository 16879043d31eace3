"""The ``customer`` section of a setup file: the customer key and its billing profile (scenario-format §1).

``subscriptions`` reads the customer key (the subscription's ``customer_id``); the billing profile is
validated here so that a typo fails early, and read by its users (the end-proration mode by the target
builder, the rest by billing).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from subscriptions.duration import Duration
from subscriptions.types import Key, Name

SubscriptionEndProrationMode = Literal["bill_actual_period", "bill_full_period"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _non_negative(name: str, value: Duration) -> None:
    if not (value.is_zero or value.is_positive):
        raise ValueError(f"{name} must not be negative, got {value}")


class Collection(_Frozen):
    alignment: Literal["subscription"] = "subscription"
    interval: Duration = Field(default_factory=Duration)

    @model_validator(mode="after")
    def _check(self) -> "Collection":
        _non_negative("interval", self.interval)
        return self


class Invoicing(_Frozen):
    auto_advance: bool = True
    draft_period: Duration = Field(default_factory=lambda: Duration(days=1))
    due_after: Duration = Field(default_factory=lambda: Duration(weeks=1))
    progressive_billing: bool = False
    subscription_end_proration_mode: SubscriptionEndProrationMode = "bill_actual_period"

    @model_validator(mode="after")
    def _check(self) -> "Invoicing":
        _non_negative("draft_period", self.draft_period)
        _non_negative("due_after", self.due_after)
        return self


class BillingProfile(_Frozen):
    collection: Collection = Field(default_factory=Collection)
    invoicing: Invoicing = Field(default_factory=Invoicing)


class CustomerSetup(_Frozen):
    key: Key = "test-customer"
    name: Name | None = None
    #: Checked by billing when the customer is created (scenario runner: a malformed file).
    currency: Annotated[str, StringConstraints(max_length=16)] = "USD"
    billing_profile: BillingProfile = Field(default_factory=BillingProfile)
