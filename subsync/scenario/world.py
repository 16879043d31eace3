"""Everything one scenario run works on: the frozen clock, a fresh in-memory store, the customer, the
subscription view and the reconciler settings.

Each run gets its own SQLite database in memory (one connection shared through a ``StaticPool``), set
up like the store's own SQLite engine: transactions open with ``BEGIN IMMEDIATE`` and foreign keys are
enforced. Nothing is shared between runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from billing.charges.store import ChargeStore
from billing.clock import FrozenClock
from billing.customers import BillingProfile, CollectionConfig, InvoicingConfig
from billing.service import BillingService
from billing.store.unit_of_work import Store
from billing.subscription_store import SubscriptionStore
from billing.sync_state import SubscriptionRef
from billing.sync_state_store import SyncStateStore
from subscriptions.customer import BillingProfile as SetupProfile
from subscriptions.models import SubscriptionView
from subsync.scenario.document import Scenario, ScenarioSettings
from subsync.sync.charges_stack import charges_stack


class Clock(FrozenClock):
    """The scenario's test clock: frozen, and ``at`` only ever moves it forward."""

    def move_to(self, at: dt.datetime) -> None:
        self.set(at)


def memory_engine() -> Engine:
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # BEGIN is emitted below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def billing_profile(setup: SetupProfile, payment_app: str) -> BillingProfile:
    """The setup file's billing profile in billing's own model (durations as ISO 8601 text)."""
    return BillingProfile(
        collection=CollectionConfig(alignment=setup.collection.alignment, interval=setup.collection.interval.iso()),
        invoicing=InvoicingConfig(
            auto_advance=setup.invoicing.auto_advance,
            draft_period=setup.invoicing.draft_period.iso(),
            due_after=setup.invoicing.due_after.iso(),
            progressive_billing=setup.invoicing.progressive_billing,
            subscription_end_proration_mode=setup.invoicing.subscription_end_proration_mode,
        ),
        payment_app=payment_app,  # type: ignore[arg-type]
    )


@dataclass
class World:
    scenario: Scenario
    clock: Clock
    store: Store
    billing: BillingService
    subscriptions: SubscriptionStore
    sync_states: SyncStateStore
    charges: ChargeStore
    view: SubscriptionView
    settings: ScenarioSettings
    #: Set by the sync step to the rendered plan (None: nothing planned).
    last_plan: str | None = field(default=None)

    @property
    def namespace(self) -> str:
        return self.scenario.namespace

    @property
    def customer_id(self) -> str:
        return self.scenario.customer_id

    @property
    def subscription_id(self) -> str:
        return self.scenario.subscription_id

    @property
    def currency(self) -> str:
        return self.scenario.currency

    @property
    def subscription_ref(self) -> SubscriptionRef:
        return SubscriptionRef(namespace=self.namespace, subscription_id=self.subscription_id)

    def store_view(self, view: SubscriptionView) -> None:
        """Write ``view`` to the subscription store (the sync service's source of the current view)."""
        sub = view.subscription
        self.subscriptions.upsert_subscription(
            self.namespace, sub.id, customer_id=sub.customer_id, view=view.model_dump(mode="json"),
            active_from=sub.active_from, active_to=sub.active_to,
        )
        if sub.deleted_at is not None:
            self.subscriptions.delete_subscription(self.namespace, sub.id)

    def close(self) -> None:
        self.store.dispose()


def create_world(scenario: Scenario) -> World:
    """A fresh store holding the scenario's customer, meters and subscription, at the scenario clock."""
    clock = Clock(scenario.clock)
    store = Store("sqlite://", clock=clock, custom_currencies=scenario.custom_currencies, engine=memory_engine())
    store.create_all()
    world = World(
        scenario=scenario,
        clock=clock,
        store=store,
        billing=BillingService(store),
        subscriptions=SubscriptionStore(store),
        sync_states=SyncStateStore(store),
        charges=ChargeStore(store),
        view=scenario.view,
        settings=scenario.settings,
    )
    customer = scenario.setup.customer
    with store.unit_of_work():
        world.billing.create_customer(
            world.namespace, customer.key, customer_id=customer.key, name=customer.name, currency=customer.currency,
            billing_profile=billing_profile(customer.billing_profile, scenario.payment_app),
        )
        for meter in scenario.meters:
            world.billing.register_meter(world.namespace, meter.key, meter.aggregation)
        world.store_view(scenario.view)
    if scenario.settings.credits:
        charges_stack(store)  # the charge line engines, before the first step
    return world
