"""The ledger port (charges.md §2.10): the only way charges reach the ledger, so tests can substitute
a spy. Every operation returns a non-empty transaction-group id (``consume`` and ``correct`` return it
inside their result, next to the slices). ``StoreLedger`` is the store-backed implementation.

Every operation joins the caller's unit of work and is all-or-nothing (its own savepoint): an error
leaves no entry behind. Operations first write any due expiry of the customer's lots (§2.8).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from billing.ledger.models import ChargeRef, Consumption, ConsumptionMode, Correction, VoidReason


@runtime_checkable
class LedgerPort(Protocol):
    # -- flat fee and usage based (§3.3) -------------------------------------------------------------
    def consume(
        self,
        charge: ChargeRef,
        *,
        run_id: str | None,
        amount: Decimal,
        feature_key: str | None,
        booked_at: dt.datetime,
        source_as_of: dt.datetime,
        mode: ConsumptionMode,
    ) -> Consumption:
        """Allocate ``amount`` of the charge's currency from the customer's lots (§2.6). ``credit_then_invoice``
        may return less than asked; ``credit_only`` always returns the full amount, the shortfall as a
        negative-balance slice. One group booked at ``booked_at``."""
        ...

    def correct(
        self,
        charge: ChargeRef,
        *,
        run_id: str | None,
        amount: Decimal,
        booked_at: dt.datetime,
        allocation_ids: Sequence[str] | None = None,
    ) -> Correction:
        """Reverse ``amount`` of the run's allocations, last first (§2.7); ``allocation_ids`` restricts
        which slices may be reversed. More than their uncorrected remainder is a validation error."""
        ...

    def on_invoice_usage_accrued(self, charge: ChargeRef, run_id: str, totals: Any, booked_at: dt.datetime) -> str:
        """``invoice_usage_accrue`` of the overage Y = ``totals.total`` (or a Decimal) at issue."""
        ...

    def on_run_payment_authorized(self, charge: ChargeRef, run_id: str, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    def on_run_payment_settled(self, charge: ChargeRef, run_id: str, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    # -- credit purchases (§5) --------------------------------------------------------------------------
    def on_promotional_credit_purchase(self, charge: Any) -> str:
        """``grant_issue`` + ``promotional_settle`` in one group (covering included)."""
        ...

    def on_credit_purchase_initiated(self, charge: Any) -> str:
        """``grant_issue`` of an external or invoice purchase (covering included)."""
        ...

    def on_payment_authorized(self, charge: Any, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        """``payment_convert`` (first authorization only, when needed) + ``payment_authorize``."""
        ...

    def on_payment_settled(self, charge: Any, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    def on_payment_authorization_reversed(self, charge: Any, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    def on_credit_purchase_voided(self, charge: Any, event_at: dt.datetime, reason: VoidReason) -> str:
        """``purchase_void`` (§5.6.11): reverse authorization and conversion, revoke the remainder, turn
        the consumed part into a negative-balance record."""
        ...

    def on_credit_grant_voided(self, charge: Any, event_at: dt.datetime) -> str:
        """``grant_void`` (§5.7): forfeit the remainder against the open receivable."""
        ...
