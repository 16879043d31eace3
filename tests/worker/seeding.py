"""Seeding many subscriptions fast (the worker pool test and ``benchmarks/scale_bench.py``).

The subscriptions are those of ``tests.job.stores`` (ten per customer by default; a monthly fee billed in
advance whose amount varies with the index, and metered API usage; started 2024-01-01), but each of the
seven distinct plans is parsed and validated once, and the stored view of every subscription is that
template with its own ids put in: parsing dominated the seeding time, and 100 000 parses do not fit a
benchmark's budget. Rows go in through the store's own ports, ``chunk`` subscriptions per transaction.
"""

from __future__ import annotations

import json
from typing import Any

from billing.service import BillingService
from billing.subscription_store import SubscriptionStore
from subscriptions.models import SubscriptionView
from subscriptions.setup import parse_subscription
from tests.job.stores import NAMESPACE, START, customer_id, setup_of, sub_id

TEMPLATE_SUBSCRIPTION = "sub-template-id"
TEMPLATE_CUSTOMER = "cus-template-id"
AMOUNTS = 7  # setup_of varies the fee with index % 7


def _templates() -> list[str]:
    templates = []
    for variant in range(AMOUNTS):
        setup = setup_of(variant, 1)
        setup["subscription"]["id"] = TEMPLATE_SUBSCRIPTION
        setup["customer"]["key"] = TEMPLATE_CUSTOMER
        templates.append(json.dumps(parse_subscription(setup, clock=START).model_dump(mode="json")))
    return templates


def seed_many(store: Any, count: int, *, per_customer: int = 10, chunk: int = 1_000, check_every: int = 997) -> list[str]:
    """``count`` subscriptions (ids ``sub-00000`` …, customers ``cus-00000`` …); returns the ids.

    Every ``check_every``-th stored view is validated as a ``SubscriptionView`` again, so a template that
    no longer fits the model fails here, not in the test that uses it.
    """
    templates = _templates()
    billing, subscriptions = BillingService(store), SubscriptionStore(store)
    ids = []
    for first in range(0, count, chunk):
        with store.unit_of_work():
            if first == 0:
                billing.register_meter(NAMESPACE, "api", "sum")
            for index in range(first, min(first + chunk, count)):
                subscription, customer = sub_id(index), customer_id(index, per_customer)
                if index % per_customer == 0:
                    billing.create_customer(NAMESPACE, customer, customer_id=customer)
                view: dict[str, Any] = json.loads(
                    templates[index % AMOUNTS].replace(TEMPLATE_SUBSCRIPTION, subscription)
                    .replace(TEMPLATE_CUSTOMER, customer))
                if index % check_every == 0:
                    SubscriptionView.model_validate(view)
                sub = view["subscription"]
                assert sub["id"] == subscription and sub["customer_id"] == customer
                subscriptions.upsert_subscription(NAMESPACE, subscription, customer_id=customer, view=view,
                                                  active_from=START, active_to=None)
                ids.append(subscription)
    return ids


__all__ = ["seed_many"]
