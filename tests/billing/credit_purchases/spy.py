"""A spy of the purchase ledger port (charges.md §9): a fresh group id per call, every call recorded
with a snapshot of the purchase as the ledger saw it, optional inline assertions, injected faults."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from billing.credit_purchases.purchase import CreditPurchase

OPERATIONS = (
    "on_promotional_credit_purchase", "on_credit_purchase_initiated", "on_payment_authorized",
    "on_payment_settled", "on_payment_authorization_reversed", "on_credit_purchase_voided",
    "on_credit_grant_voided",
)


class InjectedFault(RuntimeError):
    pass


@dataclass(frozen=True)
class Call:
    operation: str
    purchase: CreditPurchase
    event_at: dt.datetime | None
    amount: Decimal | None
    extra: Any
    group: str

    @property
    def status(self) -> str:
        return self.purchase.status.value


@dataclass
class SpyLedger:
    """``only``: when set, an operation outside it fails (an "unset callback"). ``checks`` run inside
    the call with the purchase; ``faults`` raise ``InjectedFault`` instead of answering."""

    only: set[str] | None = None
    checks: dict[str, Callable[[CreditPurchase], None]] = field(default_factory=dict)
    faults: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _call(self, operation: str, purchase: CreditPurchase, event_at=None, amount=None, extra=None) -> str:  # type: ignore[no-untyped-def]
        if self.only is not None and operation not in self.only:
            raise AssertionError(f"unexpected ledger call {operation} for {purchase.id}")
        if operation in self.faults:
            raise InjectedFault(f"injected fault in {operation}")
        check = self.checks.get(operation)
        if check is not None:
            check(purchase)
        group = f"G_{operation}_{next(self._ids)}"
        self.calls.append(Call(operation, purchase, event_at, amount, extra, group))
        return group

    def named(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    def count(self, operation: str) -> int:
        return len(self.named(operation))

    def on_promotional_credit_purchase(self, purchase):  # type: ignore[no-untyped-def]
        return self._call("on_promotional_credit_purchase", purchase)

    def on_credit_purchase_initiated(self, purchase):  # type: ignore[no-untyped-def]
        return self._call("on_credit_purchase_initiated", purchase)

    def on_payment_authorized(self, purchase, event_at, fiat_amount):  # type: ignore[no-untyped-def]
        return self._call("on_payment_authorized", purchase, event_at, fiat_amount)

    def on_payment_settled(self, purchase, event_at, fiat_amount):  # type: ignore[no-untyped-def]
        return self._call("on_payment_settled", purchase, event_at, fiat_amount)

    def on_payment_authorization_reversed(self, purchase, event_at, fiat_amount):  # type: ignore[no-untyped-def]
        return self._call("on_payment_authorization_reversed", purchase, event_at, fiat_amount)

    def on_credit_purchase_voided(self, purchase, event_at, reason):  # type: ignore[no-untyped-def]
        return self._call("on_credit_purchase_voided", purchase, event_at, extra=reason)

    def on_credit_grant_voided(self, purchase, event_at):  # type: ignore[no-untyped-def]
        return self._call("on_credit_grant_voided", purchase, event_at)
