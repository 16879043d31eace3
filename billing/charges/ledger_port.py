"""What flat-fee and usage-based charges need from the credit ledger (charges.md §2.10).

Charges call the ledger only through this port, so tests can substitute a spy. Every operation runs
in the caller's unit of work (the charge reaction's savepoint) and returns a non-empty transaction
group id. The store-backed ledger (``billing.ledger``) implements it; so does the spy of the tests.

| operation | used for |
|---|---|
| ``consume`` | a credit allocation (§2.6): slices taken from lots in consumption order |
| ``correct`` | a correction (§2.7): exact slices given back, LIFO, chosen by the charge |
| ``on_invoice_usage_accrued`` | credit_then_invoice overage booked receivable → accrued at issue |
| ``on_run_payment_authorized`` / ``on_run_payment_settled`` | run payments (§3.4.6) |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from billing.period import Period
from billing.rating import Totals

ConsumeMode = Literal["credit_only", "credit_then_invoice"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunReference(_Frozen):
    """The run a ledger call concerns, as it stands at call time."""

    namespace: str
    customer_id: str
    charge_id: str
    run_id: str
    currency: str
    service_period: Period
    line_id: str | None = None
    invoice_id: str | None = None


class CreditSlice(_Frozen):
    """One slice of a consumption: ``amount`` (> 0) taken from ``source_id`` (a lot or a
    negative-balance record)."""

    source_id: str
    amount: Decimal


class Consumption(_Frozen):
    transaction_group_id: str
    slices: tuple[CreditSlice, ...] = ()


class CorrectionRequest(_Frozen):
    """Give back ``amount`` (> 0) of the allocation ``allocation_id`` (its slice source and group)."""

    allocation_id: str
    source_id: str
    amount: Decimal
    allocation_transaction_group_id: str


class ChargeLedger(Protocol):
    def consume(
        self,
        *,
        run: RunReference,
        amount: Decimal,
        feature_key: str | None,
        booked_at: dt.datetime,
        source_as_of: dt.datetime,
        mode: ConsumeMode,
    ) -> Consumption: ...

    def correct(
        self, *, run: RunReference, corrections: Sequence[CorrectionRequest], booked_at: dt.datetime
    ) -> str: ...

    def on_invoice_usage_accrued(self, *, run: RunReference, totals: Totals, booked_at: dt.datetime) -> str: ...

    def on_run_payment_authorized(self, *, run: RunReference, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...

    def on_run_payment_settled(self, *, run: RunReference, event_at: dt.datetime, fiat_amount: Decimal) -> str: ...


class LedgerPortAdapter:
    """``ChargeLedger`` on top of the credit ledger's own port (``billing.ledger.port.LedgerPort``).

    A consumption slice's ledger ``id`` becomes the credit realization's ``source_id``; a correction
    names those ids, so the ledger reverses exactly the slices the charge chose (LIFO).
    """

    def __init__(self, ledger: object) -> None:
        self.ledger = ledger

    @staticmethod
    def _charge(run: RunReference):  # type: ignore[no-untyped-def]
        from billing.ledger.models import LedgerChargeRef

        return LedgerChargeRef(id=run.charge_id, namespace=run.namespace, customer_id=run.customer_id,
                               currency=run.currency)

    def consume(self, *, run: RunReference, amount: Decimal, feature_key: str | None, booked_at: dt.datetime,
                source_as_of: dt.datetime, mode: ConsumeMode) -> Consumption:
        result = self.ledger.consume(  # type: ignore[attr-defined]
            self._charge(run), run_id=run.run_id, amount=amount, feature_key=feature_key, booked_at=booked_at,
            source_as_of=source_as_of, mode=mode)
        return Consumption(transaction_group_id=result.transaction_group_id,
                           slices=tuple(CreditSlice(source_id=s.id, amount=s.amount) for s in result.slices
                                        if s.amount > 0))

    def correct(self, *, run: RunReference, corrections: Sequence[CorrectionRequest], booked_at: dt.datetime) -> str:
        total = sum((c.amount for c in corrections), Decimal(0))
        result = self.ledger.correct(  # type: ignore[attr-defined]
            self._charge(run), run_id=run.run_id, amount=total, booked_at=booked_at,
            allocation_ids=[c.source_id for c in corrections])
        return result.transaction_group_id

    def on_invoice_usage_accrued(self, *, run: RunReference, totals: Totals, booked_at: dt.datetime) -> str:
        return self.ledger.on_invoice_usage_accrued(self._charge(run), run.run_id, totals, booked_at)  # type: ignore[attr-defined]

    def on_run_payment_authorized(self, *, run: RunReference, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        return self.ledger.on_run_payment_authorized(self._charge(run), run.run_id, event_at, fiat_amount)  # type: ignore[attr-defined]

    def on_run_payment_settled(self, *, run: RunReference, event_at: dt.datetime, fiat_amount: Decimal) -> str:
        return self.ledger.on_run_payment_settled(self._charge(run), run.run_id, event_at, fiat_amount)  # type: ignore[attr-defined]
