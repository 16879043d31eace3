"""Invoices: the gathering staging invoice and standard invoices, with their validation issues."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.lines import ZERO_TOTALS, Line
from billing.rating import Totals
from billing.types import UtcDatetime

InvoiceKind = Literal["gathering", "standard"]
IssueSeverity = Literal["critical", "warning"]

#: The status a gathering invoice reports; it has no state machine (and no standard invoice has it, D-15).
GATHERING_STATUS = "gathering"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ValidationIssue(_Frozen):
    """A problem recorded on a standard invoice (reconciler §1.4). Equal when the content is equal."""

    severity: IssueSeverity
    code: str
    message: str
    component: str
    path: str

    @property
    def content_key(self) -> tuple[str, str, str, str, str]:
        return (self.severity, self.code, self.message, self.component, self.path)


class InvoiceHeader(_Frozen):
    """What every reader needs to know about an invoice, without its lines."""

    id: str
    namespace: str
    customer_id: str
    kind: InvoiceKind
    #: ``gathering`` for the gathering invoice; a resting lifecycle status for standard invoices.
    status: str
    #: True exactly when the state machine cannot accept an update from the current status.
    immutable: bool
    currency: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    deleted_at: UtcDatetime | None = None
    #: Standard invoices: creation + the profile's collection interval.
    collection_at: UtcDatetime | None = None
    #: Standard invoices: when the invoice was collected (draft period starts counting then).
    collected_at: UtcDatetime | None = None
    issued_at: UtcDatetime | None = None
    due_at: UtcDatetime | None = None
    sequence: int

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_gathering(self) -> bool:
        return self.kind == "gathering"

    @property
    def is_standard(self) -> bool:
        return self.kind == "standard"


class Invoice(InvoiceHeader):
    totals: Totals = ZERO_TOTALS
    #: Live issues only (soft-deleted issues are history). Empty for gathering invoices.
    validation_issues: tuple[ValidationIssue, ...] = ()
    #: Every line id on the invoice, deleted ones included; None when not requested.
    line_ids: tuple[str, ...] | None = None
    #: The lines, when requested (``get_invoice``); None otherwise.
    lines: tuple[Line, ...] | None = None

    @property
    def header(self) -> InvoiceHeader:
        return InvoiceHeader(**{name: getattr(self, name) for name in InvoiceHeader.model_fields})

    def live_lines(self) -> list[Line]:
        if self.lines is None:
            raise ValueError(f"invoice {self.id}: lines were not loaded")
        return [line for line in self.lines if line.deleted_at is None]
