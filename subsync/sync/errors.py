"""Application-level errors of the sync service (reconciler.md §6, §3.2, §10.1).

They derive from ``billing.errors.SyncError`` like every other sync error, so they carry the
namespace, subscription, customer and (where one applies) identity they concern.
"""

from __future__ import annotations

from billing.errors import SyncError


class SubscriptionNotFoundError(SyncError):
    """The subscription to sync does not exist (deleted ones included)."""


class CustomCurrencyNotSupportedError(SyncError):
    """A conflict: the subscription has billable items priced in a custom currency (§6.2 step 3)."""


class InvalidEventError(SyncError):
    """A trigger event lacks what its handling needs (a cancellation without ``active_to``, §6.7)."""


class ConfigurationError(SyncError):
    """The service was configured inconsistently (``credits_enabled`` without a charges port, §3.2)."""
