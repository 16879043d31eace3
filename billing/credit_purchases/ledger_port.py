"""What credit purchases need from the credit ledger (charges.md §2.10), as a Protocol.

Purchases call the ledger only through this port, so tests substitute a spy. Each operation runs in
the caller's unit of work (the reaction's savepoint), receives the purchase as it stands at call time
(the status of §5 already set, the realization it books not yet recorded) and returns a non-empty
transaction group id.

| operation | postings (§2.9) | status at call |
|---|---|---|
| ``on_promotional_credit_purchase`` | ``grant_issue`` + ``promotional_settle`` | ``final``, no grant |
| ``on_credit_purchase_initiated`` | ``grant_issue`` | ``active.initial_credit_grant``, no grant |
| ``on_payment_authorized`` | ``payment_convert`` (once) + ``payment_authorize`` | ``…authorized`` / ``…paid_and_authorized`` |
| ``on_payment_settled`` | ``payment_settle`` | ``active.payment.settled``, payment authorized |
| ``on_payment_authorization_reversed`` | ``payment_authorization_reverse`` | ``active.payment.failed``, payment authorized |
| ``on_credit_purchase_voided`` | ``purchase_void`` | ``final.voided``, grant present |
| ``on_credit_grant_voided`` | ``grant_void`` | unchanged (manual void) |
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal, Protocol

from billing.credit_purchases.purchase import CreditPurchase

VoidReason = Literal["voided", "uncollectible"]


class PurchaseLedger(Protocol):
    def on_promotional_credit_purchase(self, purchase: CreditPurchase) -> str: ...

    def on_credit_purchase_initiated(self, purchase: CreditPurchase) -> str: ...

    def on_payment_authorized(self, purchase: CreditPurchase, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    def on_payment_settled(self, purchase: CreditPurchase, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    def on_payment_authorization_reversed(
        self, purchase: CreditPurchase, event_at: dt.datetime, fiat_amount: Decimal
    ) -> str: ...

    def on_credit_purchase_voided(self, purchase: CreditPurchase, event_at: dt.datetime, reason: VoidReason) -> str: ...

    def on_credit_grant_voided(self, purchase: CreditPurchase, event_at: dt.datetime) -> str: ...
