"""Repositories: queries and row writes for one aggregate each, bound to the unit of work's session."""

from billing.store.repositories.charges import ChargeRepository
from billing.store.repositories.customers import CustomerRepository
from billing.store.repositories.invoices import InvoiceRepository
from billing.store.repositories.lines import LineRepository
from billing.store.repositories.split_line_groups import SplitLineGroupRepository
from billing.store.repositories.subscriptions import SubscriptionRepository
from billing.store.repositories.sync_state import SyncStateRepository
from billing.store.repositories.usage import UsageRepository

__all__ = [
    "ChargeRepository",
    "CustomerRepository",
    "InvoiceRepository",
    "LineRepository",
    "SplitLineGroupRepository",
    "SubscriptionRepository",
    "SyncStateRepository",
    "UsageRepository",
]
