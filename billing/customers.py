"""Customers and their billing profiles (collection, invoicing, payment app)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import isodate
from pydantic import BaseModel, ConfigDict, Field, field_validator

from billing.types import Key, UtcDatetime

CollectionAlignment = Literal["subscription", "anchored"]
ProrationMode = Literal["bill_actual_period", "bill_full_period"]
PaymentAppMode = Literal["auto", "manual"]


def parse_iso_duration(text: str) -> dt.timedelta | isodate.Duration:
    """An ISO 8601 duration (``PT0S``, ``P1D``, ``P1M``); calendar parts are kept apart by isodate."""
    try:
        value = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError, TypeError) as exc:
        raise ValueError(f"not an ISO 8601 duration: {text!r}") from exc
    negative = value < dt.timedelta(0) if isinstance(value, dt.timedelta) else (
        value.years < 0 or value.months < 0 or value.tdelta < dt.timedelta(0)
    )
    if negative:
        raise ValueError(f"duration must not be negative: {text!r}")
    return value


def add_duration(instant: dt.datetime, text: str) -> dt.datetime:
    """``instant + duration`` for a profile duration string."""
    return instant + parse_iso_duration(text)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CollectionConfig(_Frozen):
    alignment: CollectionAlignment = "subscription"
    #: How long a new standard invoice waits for late usage before it is collected.
    interval: str = "PT0S"

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_iso_duration(value)
        return value


class InvoicingConfig(_Frozen):
    auto_advance: bool = True
    #: Collected invoices wait this long in ``draft.waiting_auto_approval`` (auto-advance on).
    draft_period: str = "P1D"
    due_after: str = "P1W"
    progressive_billing: bool = False
    subscription_end_proration_mode: ProrationMode = "bill_actual_period"

    @field_validator("draft_period", "due_after")
    @classmethod
    def _durations(cls, value: str) -> str:
        parse_iso_duration(value)
        return value


class BillingProfile(_Frozen):
    collection: CollectionConfig = Field(default_factory=CollectionConfig)
    invoicing: InvoicingConfig = Field(default_factory=InvoicingConfig)
    #: ``auto``: an issued invoice is collected at once (→ paid); ``manual``: payment events drive it.
    payment_app: PaymentAppMode = "auto"


class Customer(_Frozen):
    id: str
    namespace: str
    key: Key
    name: str | None = None
    currency: str = "USD"
    billing_profile: BillingProfile = Field(default_factory=BillingProfile)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    sequence: int

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class CustomerOverride(_Frozen):
    """The customer with its merged billing profile (reconciler §6.2 step 4)."""

    customer: Customer
    profile: BillingProfile

    @property
    def customer_deleted_at(self) -> dt.datetime | None:
        return self.customer.deleted_at

    @property
    def subscription_end_proration_mode(self) -> ProrationMode:
        return self.profile.invoicing.subscription_end_proration_mode
