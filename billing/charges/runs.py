"""Realization runs of flat-fee and usage-based charges (charges.md §1.4, §3.1, §4.1).

A run is one realization attempt for a period. It is stored as one realization row (``kind = run``,
``type`` = the run type) whose ``data`` holds the run's content; its credit realizations, accrued
usage and payment live inside it. Facts are only appended (a credit correction is a new entry that
references the allocation it corrects) or marked (``immutable``, ``deleted_at``, the run type turning
``invalid_due_to_unsupported_credit_note``, a payment moving authorized → settled).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from billing.charges.models import Realization
from billing.lines import ZERO_TOTALS
from billing.money import exact_arithmetic
from billing.period import Period
from billing.rating import Totals
from billing.types import UtcDatetime

RunType = Literal["final_realization", "partial_invoice", "invalid_due_to_unsupported_credit_note"]
INVALID_RUN = "invalid_due_to_unsupported_credit_note"
PaymentStatus = Literal["authorized", "failed", "settled", "voided"]
ZERO = Decimal(0)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreditRealization(_Frozen):
    """An allocation (> 0) or a correction (≤ 0, referencing the allocation it corrects)."""

    id: str
    type: Literal["allocation", "correction"]
    amount: Decimal
    service_period: Period
    ledger_transaction_group_id: str
    source_id: str
    line_id: str | None = None
    corrects_id: str | None = None
    sort_hint: int


class AccruedUsage(_Frozen):
    service_period: Period
    totals: Totals
    ledger_transaction_group_id: str


class LedgerStamp(_Frozen):
    transaction_group_id: str
    at: UtcDatetime


class RunPayment(_Frozen):
    service_period: Period
    status: PaymentStatus
    fiat_amount: Decimal
    invoice_id: str
    line_id: str
    authorized: LedgerStamp | None = None
    settled: LedgerStamp | None = None
    failed: LedgerStamp | None = None


class Run(_Frozen):
    id: str
    type: RunType
    initial_type: Literal["final_realization", "partial_invoice"]
    service_period: Period
    line_id: str | None = None
    invoice_id: str | None = None
    #: Flat fee: the amount after proration the run was rated with.
    amount_after_proration: Decimal | None = None
    #: Usage: the exclusive ingestion bound, and the cumulative quantity from the charge's start.
    stored_at_lt: UtcDatetime | None = None
    metered_quantity: Decimal | None = None
    totals: Totals = ZERO_TOTALS
    no_fiat_transaction_required: bool = False
    immutable: bool = False
    credit_realizations: tuple[CreditRealization, ...] = ()
    accrued_usage: AccruedUsage | None = None
    payment: RunPayment | None = None
    created_at: UtcDatetime
    deleted_at: UtcDatetime | None = None

    @property
    def service_period_to(self) -> dt.datetime:
        return self.service_period.end

    @property
    def voided(self) -> bool:
        """Voided billing history: invalidated by an unsupported credit note, or deleted."""
        return self.type == INVALID_RUN or self.deleted_at is not None

    @property
    def net_allocations(self) -> Decimal:
        with exact_arithmetic():
            return sum((c.amount for c in self.credit_realizations), ZERO)

    def uncorrected(self) -> list[tuple[CreditRealization, Decimal]]:
        """Each allocation with its uncorrected remainder, newest first (the LIFO order of §2.7)."""
        corrected: dict[str, Decimal] = {}
        for entry in self.credit_realizations:
            if entry.type == "correction" and entry.corrects_id is not None:
                corrected[entry.corrects_id] = corrected.get(entry.corrects_id, ZERO) - entry.amount
        allocations = [c for c in self.credit_realizations if c.type == "allocation"]
        allocations.sort(key=lambda c: c.sort_hint, reverse=True)
        with exact_arithmetic():
            return [(c, c.amount - corrected.get(c.id, ZERO)) for c in allocations
                    if c.amount - corrected.get(c.id, ZERO) > 0]

    @property
    def settled(self) -> bool:
        """The run needs nothing more from payment (no accrual, no fiat, or a settled payment)."""
        return (self.accrued_usage is None or self.no_fiat_transaction_required
                or (self.payment is not None and self.payment.status == "settled"))

    def to_realization(self, sequence: int = 0) -> Realization:
        data = self.model_dump(mode="json", exclude={"id", "type", "service_period", "line_id", "invoice_id",
                                                     "created_at", "deleted_at"})
        data["voided"] = self.type == INVALID_RUN
        return Realization(
            id=self.id, kind="run", type=self.type, service_period=self.service_period, line_id=self.line_id,
            invoice_id=self.invoice_id, data=data, created_at=self.created_at, deleted_at=self.deleted_at,
            sequence=sequence,
        )

    @classmethod
    def from_realization(cls, realization: Realization) -> "Run":
        data: dict[str, Any] = {k: v for k, v in realization.data.items() if k != "voided"}
        return cls.model_validate({
            **data, "id": realization.id, "type": realization.type, "service_period": realization.service_period,
            "line_id": realization.line_id, "invoice_id": realization.invoice_id,
            "created_at": realization.created_at, "deleted_at": realization.deleted_at,
        })


def runs_of(realizations: tuple[Realization, ...]) -> list[Run]:
    """The runs among a charge's realizations, oldest first."""
    return [Run.from_realization(r) for r in sorted(realizations, key=lambda r: r.sequence) if r.kind == "run"]
