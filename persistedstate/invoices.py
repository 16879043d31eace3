"""``InvoiceSnapshot``: what sync needs to know about an invoice that holds one of its lines.

The invoice class (reconciler.md §1.1) decides what sync may do to the invoice's lines:

=============  ================================================  ==================================
class          definition                                        sync may
=============  ================================================  ==================================
``gathering``  live gathering invoice                            create, update, delete lines
``mutable``    standard invoice with ``immutable = false``       update (quantity re-snapshotted), delete
``immutable``  standard invoice with ``immutable = true``        nothing; drift becomes validation issues
               (status ``deleted`` included)
``gone``       soft-deleted gathering invoice                    nothing, and no issues
=============  ================================================  ==================================
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from billing.invoices import Invoice, InvoiceKind, ValidationIssue
from billing.types import UtcDatetime

InvoiceClass = Literal["gathering", "mutable", "immutable", "gone"]


class InvoiceSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: InvoiceKind
    status: str
    immutable: bool
    deleted: bool
    currency: str
    updated_at: UtcDatetime
    #: Standard invoices: every line id on the invoice, deleted ones included. Gathering: None.
    line_ids: tuple[str, ...] | None = None
    #: Standard invoices: the live validation issues. Gathering: None (they carry no issues).
    validation_issues: tuple[ValidationIssue, ...] | None = None

    @model_validator(mode="after")
    def _standard_only_fields(self) -> "InvoiceSnapshot":
        if self.kind == "standard" and (self.line_ids is None or self.validation_issues is None):
            raise ValueError(f"standard invoice {self.id}: line_ids and validation_issues are required")
        if self.kind == "gathering" and (self.line_ids is not None or self.validation_issues is not None):
            raise ValueError(f"gathering invoice {self.id}: line_ids and validation_issues are for standard invoices")
        return self

    @property
    def invoice_class(self) -> InvoiceClass:
        if self.kind == "gathering":
            return "gone" if self.deleted else "gathering"
        return "immutable" if self.immutable else "mutable"

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceSnapshot":
        """Snapshot a billing invoice listed with ``with_line_ids`` and ``with_validation_issues``."""
        standard = invoice.kind == "standard"
        if standard and invoice.line_ids is None:
            raise ValueError(f"standard invoice {invoice.id} was listed without its line ids")
        return cls(
            id=invoice.id,
            kind=invoice.kind,
            status=invoice.status,
            immutable=invoice.immutable,
            deleted=invoice.deleted_at is not None,
            currency=invoice.currency,
            updated_at=invoice.updated_at,
            line_ids=tuple(invoice.line_ids or ()) if standard else None,
            validation_issues=tuple(invoice.validation_issues) if standard else None,
        )
