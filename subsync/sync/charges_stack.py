"""The charges stack of one billing store: the one place that wires the credits backend (charges.md §7).

``charges_stack(store)`` builds, once per store, everything a sync with ``credits_enabled`` needs:

| part | what it is |
|---|---|
| ``ledger`` | the store-backed credit ledger (``billing.ledger.StoreLedger``) |
| ``charges`` | ``ChargesService`` on that ledger: the sync's charges port (``list_charges``, ``apply_patches``, ``update_subscription_item_id``) and the charge-advance pass; building it registers the ``charge_flatfee`` / ``charge_usagebased`` line engines for the store |
| ``purchases`` | ``CreditPurchaseService`` on the same ledger; building it registers the ``charge_creditpurchase`` engine, and its advancer runs inside ``charges.advance_charges`` (deferred purchase invoicing) |

The stack is cached per store (weakly: it goes with the store), because line engines are registered
per store and two services of one kind on one store would replace each other's engines.

``sync_service(store, settings, **ports)`` is ``SyncService.for_store`` with the charges port wired
exactly when ``settings.credits_enabled`` is true: with credits off no charges port is passed, so a
``credit_only`` subscription fails its sync (reconciler.md §3.4) and every item becomes an invoice line.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from billing.charges.ledger_port import LedgerPortAdapter
from billing.charges.service import ChargesService
from billing.credit_purchases.ledger_adapter import StoreLedgerAdapter
from billing.credit_purchases.service import CreditPurchaseService
from billing.ledger import StoreLedger
from billing.store.unit_of_work import Store
from reconciler.settings import SyncSettings
from subsync.sync.service import SyncService


@dataclass(frozen=True)
class ChargesStack:
    store: Store
    ledger: StoreLedger
    charges: ChargesService
    purchases: CreditPurchaseService

    def advance_customer(self, namespace: str, customer_id: str) -> None:
        """The charge-advance pass for one customer (charges.md §1.8): due flat-fee and usage charges,
        then deferred credit-purchase invoicing (the purchase advancer)."""
        self.charges.advance_charges(namespace, customer_id)

    def due_customers(self, namespace: str) -> list[str]:
        """Customers the advance pass has work for: a charge due or a deferred purchase to invoice."""
        return sorted(set(self.charges.due_customers(namespace)) | set(self.purchases.due_customers(namespace)))


_STACKS: "weakref.WeakKeyDictionary[Store, ChargesStack]" = weakref.WeakKeyDictionary()


def charges_stack(store: Store) -> ChargesStack:
    """The store's charges stack, built on first use."""
    stack = _STACKS.get(store)
    if stack is None:
        ledger = StoreLedger(store)
        charges = ChargesService(store, LedgerPortAdapter(ledger))
        purchases = CreditPurchaseService(store, StoreLedgerAdapter(ledger))
        charges.advancers.append(purchases.advancer)
        stack = ChargesStack(store=store, ledger=ledger, charges=charges, purchases=purchases)
        _STACKS[store] = stack
    return stack


def sync_service(store: Store, settings: SyncSettings | None = None, **ports: Any) -> SyncService:
    """A sync service on ``store``; with ``settings.credits_enabled`` its charges port is the store's
    charges service (an explicit ``charges=`` port wins)."""
    settings = settings if settings is not None else SyncSettings()
    if settings.credits_enabled and ports.get("charges") is None:
        ports["charges"] = charges_stack(store).charges
    return SyncService.for_store(store, settings=settings, **ports)


__all__ = ["ChargesStack", "charges_stack", "sync_service"]
