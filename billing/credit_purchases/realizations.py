"""Realizations of a credit purchase (charges.md §1.4): facts appended once and then only marked —
the grant, the invoice link with its detailed line, and the one payment."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from billing.credit_purchases.models import Decimalish, _Frozen
from billing.period import Period
from billing.types import UtcDatetime


class LedgerRef(_Frozen):
    """A ledger transaction group and the time it was booked for a payment step."""

    transaction_group_id: str = Field(min_length=1)
    at: UtcDatetime


class GrantRealization(_Frozen):
    id: str
    transaction_group_id: str = Field(min_length=1)
    granted_at: UtcDatetime


class DetailedLine(_Frozen):
    """The one detailed line of a purchase's standard line (§5.6.6)."""

    id: str
    category: Literal["regular"] = "regular"
    child_reference: Literal["credit-purchase"] = "credit-purchase"
    index: int = 0
    payment_term: Literal["in_arrears"] = "in_arrears"
    service_period: Period
    quantity: Decimalish
    per_unit_amount: Decimalish
    amount: Decimalish
    total: Decimalish


class InvoiceLink(_Frozen):
    invoice_id: str = Field(min_length=1)
    line_id: str = Field(min_length=1)
    linked_at: UtcDatetime
    detailed_line: DetailedLine | None = None


PaymentStatus = Literal["authorized", "failed", "settled", "voided"]


class Payment(_Frozen):
    """The one payment of an external or invoice-settled purchase (§1.4)."""

    id: str
    kind: Literal["external", "invoiced"]
    status: PaymentStatus
    fiat_amount: Decimalish
    currency: str
    service_period: Period
    authorized: LedgerRef
    failed: LedgerRef | None = None
    settled: LedgerRef | None = None
    voided_at: UtcDatetime | None = None
    invoice_id: str | None = None
    line_id: str | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "Payment":
        if self.fiat_amount <= 0:
            raise ValueError(f"payment {self.id}: fiat_amount must be > 0, got {self.fiat_amount}")
        if self.status == "settled" and self.settled is None:
            raise ValueError(f"payment {self.id}: a settled payment needs its settled entry")
        if self.status == "failed" and self.failed is None:
            raise ValueError(f"payment {self.id}: a failed payment needs its failed entry")
        if self.kind == "invoiced" and (not self.invoice_id or not self.line_id):
            raise ValueError(f"payment {self.id}: an invoiced payment needs invoice_id and line_id")
        return self


