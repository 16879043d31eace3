"""What callers pass to and get back from the sync service (reconciler.md §6.1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from patches.model import Plan
from subscriptions.models import SubscriptionView


class SyncOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Plan under the lock, then roll everything back: nothing is written, nothing invoiced (D-07).
    dry_run: bool = False
    #: Automatic callers (periodic job, events) skip custom-currency subscriptions; explicit callers
    #: leave it off and see ``CustomCurrencyNotSupportedError``.
    skip_custom_currency_subscriptions: bool = False


class SyncResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The view the target was built from; None for a deleted subscription (empty target).
    view: SubscriptionView | None
    deleted: bool
    #: The computed plan (also in a dry run); None when skipped or when no plan was computed
    #: (the deleted-customer path, D-08).
    plan: Plan | None
    skipped: bool = False
