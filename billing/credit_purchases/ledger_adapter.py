"""``StoreLedgerAdapter``: the store ledger (``billing.ledger.StoreLedger``) behind the purchase port.

The store ledger reads a purchase the way it is stored: the ``charges`` registry row with its
untyped intent (settlement and cost basis as mappings) and, in ``state["resolved_cost_basis"]``, the
resolved rate of a custom-currency basis. ``ledger_charge`` hands it exactly that, with the
resolution this package keeps in the purchase's cost-basis row, as it stands at call time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.charges.models import CreditPurchaseCharge
from billing.credit_purchases.ledger_port import VoidReason
from billing.credit_purchases.models import FiatCostBasis
from billing.credit_purchases.purchase import CreditPurchase


def ledger_charge(purchase: CreditPurchase) -> CreditPurchaseCharge:
    resolved = purchase.resolved_cost_basis
    state = dict(purchase.charge.state)
    if resolved is not None and not isinstance(purchase.intent.cost_basis, FiatCostBasis):
        state["resolved_cost_basis"] = {
            "rate": format(resolved.rate, "f"), "fiat_currency": resolved.fiat_currency,
            "resolved_at": resolved.resolved_at.isoformat(), "source_id": resolved.source_id,
        }
    return purchase.charge.model_copy(update={"state": state})


class StoreLedgerAdapter:
    """Implements ``PurchaseLedger`` on a ledger that implements the §2.10 ``LedgerPort``."""

    def __init__(self, port: Any) -> None:
        self.port = port

    def on_promotional_credit_purchase(self, purchase: CreditPurchase) -> str:
        return self.port.on_promotional_credit_purchase(ledger_charge(purchase))

    def on_credit_purchase_initiated(self, purchase: CreditPurchase) -> str:
        return self.port.on_credit_purchase_initiated(ledger_charge(purchase))

    def on_payment_authorized(self, purchase: CreditPurchase, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        return self.port.on_payment_authorized(ledger_charge(purchase), event_at, fiat_amount)

    def on_payment_settled(self, purchase: CreditPurchase, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        return self.port.on_payment_settled(ledger_charge(purchase), event_at, fiat_amount)

    def on_payment_authorization_reversed(self, purchase: CreditPurchase, event_at: dt.datetime,
                                          fiat_amount: Decimal) -> str:
        return self.port.on_payment_authorization_reversed(ledger_charge(purchase), event_at, fiat_amount)

    def on_credit_purchase_voided(self, purchase: CreditPurchase, event_at: dt.datetime, reason: VoidReason) -> str:
        return self.port.on_credit_purchase_voided(ledger_charge(purchase), event_at, reason)

    def on_credit_grant_voided(self, purchase: CreditPurchase, event_at: dt.datetime) -> str:
        return self.port.on_credit_grant_voided(ledger_charge(purchase), event_at)
