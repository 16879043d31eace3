"""What a charge lifecycle works with: the caller's unit of work, the ledger port and the clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from billing.charges.ledger_port import ChargeLedger
from billing.customers import add_duration
from billing.money import currency_precision
from billing.store.unit_of_work import UnitOfWork

#: The internal collection period of usage runs (charges.md §4.1).
INTERNAL_COLLECTION_PERIOD = dt.timedelta(minutes=1)


@dataclass
class ChargeContext:
    uow: UnitOfWork
    ledger: ChargeLedger

    @property
    def now(self) -> dt.datetime:
        return self.uow.now

    def precision(self, currency: str) -> int:
        return currency_precision(currency, custom=self.uow.custom_currencies)

    def is_custom_currency(self, currency: str) -> bool:
        return currency in self.uow.custom_currencies

    def after_collection_interval(self, namespace: str, customer_id: str, instant: dt.datetime) -> dt.datetime:
        """``instant`` + the customer's collection interval (a usage run's ``stored_at_lt``)."""
        customer = self.uow.customers.get(namespace, customer_id)
        return add_duration(instant, customer.billing_profile.collection.interval)
