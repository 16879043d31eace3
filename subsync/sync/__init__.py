"""The sync service (reconciler.md §6): entry points, locking, sync state, dry run, stored plans.

``SyncService.for_store(store, settings=…)`` wires every port to one billing store; the entry points
return a ``SyncResult(view, deleted, plan, skipped)``. ``sync_service(store, settings)`` does the same
and adds the store's charges stack (``charges_stack(store)``) as the charges port when credits are on.
"""

from subsync.sync.charges_stack import ChargesStack, charges_stack, sync_service
from subsync.sync.currency_gate import has_billables, has_custom_currency_billables
from subsync.sync.errors import (
    ConfigurationError,
    CustomCurrencyNotSupportedError,
    InvalidEventError,
    SubscriptionNotFoundError,
)
from subsync.sync.options import SyncOptions, SyncResult
from subsync.sync.service import SyncService
from subsync.sync.subscriptions import Page, PageRequest, ResolvedSubscription, StoredSubscriptions
from subsync.sync.sync_state import next_sync_state
from subsync.sync.triggers import SyncTriggers

__all__ = [
    "ChargesStack",
    "ConfigurationError",
    "CustomCurrencyNotSupportedError",
    "InvalidEventError",
    "Page",
    "PageRequest",
    "ResolvedSubscription",
    "StoredSubscriptions",
    "SubscriptionNotFoundError",
    "SyncOptions",
    "SyncResult",
    "SyncService",
    "SyncTriggers",
    "charges_stack",
    "has_billables",
    "has_custom_currency_billables",
    "next_sync_state",
    "sync_service",
]
