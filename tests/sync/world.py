"""A small world for sync tests: a store, one customer, one stored subscription and the sync service.

The subscription is described like a scenario file's setup (``subscriptions.setup``); edits go through
``subscriptions.edits`` and are stored again, as an application would.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any, Callable

from billing.service import BillingService
from billing.subscription_store import SubscriptionStore
from billing.sync_state import SubscriptionRef, SyncState
from billing.sync_state_store import SyncStateStore
from billing.usage import NewUsageEvent
from reconciler.settings import SyncSettings
from subscriptions.models import SubscriptionView
from subscriptions.setup import parse_subscription
from subsync.sync import SyncOptions, SyncResult, SyncService
from tests.sync.stores import profile

NAMESPACE = "default"
CUSTOMER = "cus-1"
SUBSCRIPTION = "sub-1"

FEE = {"key": "fee", "type": "flat_fee", "billing_cadence": "P1M",
       "price": {"type": "flat", "amount": "10", "payment_term": "in_advance"}}
ARREARS = {"key": "support", "type": "flat_fee", "billing_cadence": "P1M",
           "price": {"type": "flat", "amount": "3", "payment_term": "in_arrears"}}
API = {"key": "api", "type": "usage_based", "billing_cadence": "P1M", "feature": "api",
       "price": {"type": "unit", "amount": "0.5"}}


def setup(*rate_cards: dict[str, Any], clock: str = "2024-01-01T00:00:00Z", phases: list[dict[str, Any]] | None = None,
          **plan: Any) -> dict[str, Any]:
    return {
        "clock": clock,
        "customer": {"key": CUSTOMER},
        "meters": [{"key": "api", "aggregation": "sum"}],
        "currencies": [{"code": "CREDITS", "precision": 2}],
        "plan": {"key": "p", "currency": "USD", "billing_cadence": "P1M",
                 "phases": phases or [{"key": "main", "rate_cards": list(rate_cards or (FEE, API))}], **plan},
        "subscription": {"id": SUBSCRIPTION},
    }


class World:
    def __init__(self, store: Any, clock: Any, setup_: dict[str, Any] | None = None, *,
                 settings: SyncSettings | None = None, service: SyncService | None = None,
                 **profile_args: Any) -> None:
        setup_ = copy.deepcopy(setup_ or setup())
        self.store = store
        self.clock = clock
        self.billing = BillingService(store)
        self.subscriptions = SubscriptionStore(store)
        self.sync_states = SyncStateStore(store)
        # The service shares ``self.billing``, so a test can patch a port method in one place.
        self.service = service or SyncService.for_store(store, settings=settings, billing=self.billing)
        start = dt.datetime.fromisoformat(setup_["clock"].replace("Z", "+00:00"))
        if clock.now() < start:
            clock.set(start)
        self.billing.create_customer(NAMESPACE, CUSTOMER, customer_id=CUSTOMER, billing_profile=profile(**profile_args))
        self.billing.register_meter(NAMESPACE, "api", "sum")
        self.view = parse_subscription(setup_, clock=None)
        self.save(self.view)

    # -- subscription ----------------------------------------------------------------------------
    def save(self, view: SubscriptionView) -> None:
        sub = view.subscription
        self.subscriptions.upsert_subscription(
            NAMESPACE, sub.id, customer_id=sub.customer_id, view=view.model_dump(mode="json"),
            active_from=sub.active_from, active_to=sub.active_to,
        )

    def edit(self, edit: Callable[..., SubscriptionView], *args: Any, **kwargs: Any) -> SubscriptionView:
        self.view = edit(self.view, *args, **kwargs)
        self.save(self.view)
        return self.view

    def delete_subscription(self) -> None:
        self.subscriptions.delete_subscription(NAMESPACE, SUBSCRIPTION)

    # -- time, usage, sync -----------------------------------------------------------------------
    def at(self, when: str | dt.datetime) -> None:
        if isinstance(when, str):
            when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
            when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
        self.clock.set(when)

    def usage(self, when: dt.datetime, value: int | str = 1) -> None:
        self.billing.ingest_usage(NAMESPACE, CUSTOMER, "api", [NewUsageEvent(time=when, value=Decimal(str(value)))])

    def sync(self, *, as_of: dt.datetime | None = None, invoice: bool = False, **options: Any) -> SyncResult:
        run = self.service.sync_by_id_and_invoice_customer if invoice else self.service.sync_by_id
        return run(NAMESPACE, SUBSCRIPTION, as_of or self.clock.now(), SyncOptions(**options))

    def sync_state(self) -> SyncState | None:
        return self.sync_states.get(SubscriptionRef(namespace=NAMESPACE, subscription_id=SUBSCRIPTION))

    # -- reading billing -------------------------------------------------------------------------
    def invoices(self) -> list[Any]:
        return self.billing.list_customer_invoices(NAMESPACE, CUSTOMER)

    def live_lines(self) -> list[Any]:
        return [line for invoice in self.invoices() for line in invoice.lines or () if line.deleted_at is None]

    def live_identities(self) -> list[str]:
        return sorted(line.child_unique_reference_id or f"child of {line.split_line_group_id}"
                      for line in self.live_lines())


API_V2 = {**API, "price": {"type": "unit", "amount": "1"}}


def split_world(make_world: Callable[..., World]) -> World:
    """A world with every kind of billing artifact, synced and converged at 2024-01-20.

    Progressive billing, manual approval. At 01-10 the fee of January and the first part of the usage
    line are invoiced and paid (invoice A, immutable); at 01-20 the next part goes to a draft (invoice
    B, mutable); the rest of the usage line and February's fee wait on the gathering invoice.
    """
    world = make_world(setup(FEE, API), progressive=True, auto_advance=False)
    world.at("2024-01-10T00:00:00Z")
    world.usage(dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc), 4)
    world.usage(dt.datetime(2024, 1, 12, tzinfo=dt.timezone.utc), 6)
    world.usage(dt.datetime(2024, 1, 25, tzinfo=dt.timezone.utc), 10)
    world.sync()
    world.billing.invoice_pending_lines(NAMESPACE, CUSTOMER)  # the profile's progressive billing splits
    paid = next(invoice for invoice in world.invoices() if invoice.kind == "standard")
    world.billing.approve_invoice(NAMESPACE, paid.id)
    world.at("2024-01-20T00:00:00Z")
    world.billing.invoice_pending_lines(NAMESPACE, CUSTOMER)
    assert world.sync().plan.is_empty
    return world


def replace_items_at_0115(world: World) -> None:
    """End the fee and the usage item on 01-15 and start a dearer usage version there: a sync then
    creates a line, shrinks the draft child, deletes gathering lines, updates the group and adds an
    issue on the paid invoice."""
    at = dt.datetime(2024, 1, 15, tzinfo=dt.timezone.utc)
    from subscriptions import edits

    world.edit(edits.remove_item, "main", "fee", at)
    world.edit(edits.remove_item, "main", "api", at)
    world.edit(edits.add_item, "main", API_V2, at)
