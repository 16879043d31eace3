"""Seeding a store with many generated subscriptions for the job's tests.

Each customer holds ``per_customer`` subscriptions; every subscription has a monthly fee billed in
advance and metered API usage, and starts on ``START`` (the fee's amount varies with the index, so
no two plans are alike).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing.service import BillingService
from billing.subscription_store import SubscriptionStore
from subscriptions.setup import parse_subscription

UTC = dt.timezone.utc
NAMESPACE = "default"
START = dt.datetime(2024, 1, 1, tzinfo=UTC)


def sub_id(index: int) -> str:
    return f"sub-{index:05d}"


def customer_id(index: int, per_customer: int) -> str:
    return f"cus-{index // per_customer:05d}"


def setup_of(index: int, per_customer: int, *, usage: bool = True) -> dict[str, Any]:
    cards: list[dict[str, Any]] = [
        {"key": "fee", "type": "flat_fee", "billing_cadence": "P1M",
         "price": {"type": "flat", "amount": str(10 + index % 7), "payment_term": "in_advance"}},
    ]
    if usage:
        cards.append({"key": "api", "type": "usage_based", "billing_cadence": "P1M", "feature": "api",
                      "price": {"type": "unit", "amount": "0.5"}})
    return {
        "customer": {"key": customer_id(index, per_customer)},
        "meters": [{"key": "api", "aggregation": "sum"}],
        "plan": {"key": "gen", "currency": "USD", "billing_cadence": "P1M",
                 "phases": [{"key": "main", "rate_cards": cards}]},
        "subscription": {"id": sub_id(index), "start": START.isoformat().replace("+00:00", "Z")},
    }


def seed(store: Any, count: int, *, per_customer: int = 10, usage: bool = True) -> list[str]:
    """``count`` subscriptions in one transaction; returns their ids in listing order."""
    billing = BillingService(store)
    subscriptions = SubscriptionStore(store)
    ids = []
    with store.unit_of_work():
        billing.register_meter(NAMESPACE, "api", "sum")
        for index in range(count):
            if index % per_customer == 0:
                key = customer_id(index, per_customer)
                billing.create_customer(NAMESPACE, key, customer_id=key)
            view = parse_subscription(setup_of(index, per_customer, usage=usage), clock=START)
            sub = view.subscription
            subscriptions.upsert_subscription(
                NAMESPACE, sub.id, customer_id=sub.customer_id, view=view.model_dump(mode="json"),
                active_from=sub.active_from, active_to=sub.active_to,
            )
            ids.append(sub.id)
    return ids


def corrupt_view(store: Any, subscription_id: str, per_customer: int = 10) -> None:
    """Overwrite a stored subscription's view with JSON that is no subscription at all."""
    index = int(subscription_id.split("-")[1])
    SubscriptionStore(store).upsert_subscription(
        NAMESPACE, subscription_id, customer_id=customer_id(index, per_customer),
        view={"subscription": {"id": subscription_id}, "phases": "corrupt"}, active_from=START,
    )


def invert_a_line_period(store: Any, subscription_id: str) -> None:
    """Make one stored line of the subscription end before it starts (an integrity error, D-14)."""
    from sqlalchemy import select, update

    from billing.store.tables import LineRow

    table = LineRow.__table__
    with store.engine.begin() as connection:
        row = connection.execute(
            select(table.c.id, table.c.service_period_start).where(table.c.subscription_id == subscription_id)
            .order_by(table.c.service_period_start).limit(1)
        ).one()
        connection.execute(update(table).where(table.c.id == row.id).values(
            service_period_end=row.service_period_start - dt.timedelta(days=1)))
