"""The ports the applier writes through (reconciler.md §8.2, §8.3), as structural Protocols.

``billing.service.BillingService`` satisfies ``BillingApplyPort`` and ``LineEnginePort``; the
charges port arrives with the charges backend. Every call joins the caller's locked transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from billing.invoices import Invoice, ValidationIssue
from billing.lines import GatheringLine, Line, NewLine, StandardLine
from billing.split_lines import GroupChanges


class BillingApplyPort(Protocol):
    def create_pending_invoice_lines(self, namespace: str, customer_id: str, currency: str,
                                     lines: Sequence[NewLine]) -> list[GatheringLine]: ...

    def get_invoice(self, namespace: str, invoice_id: str, *, include_deleted_lines: bool = True) -> Invoice: ...

    def update_gathering_invoice(self, namespace: str, invoice_id: str, *, delete_line_ids: Sequence[str] = (),
                                 replace_lines: Sequence[Line] = ()) -> Invoice: ...

    def update_standard_invoice(self, namespace: str, invoice_id: str, *, delete_line_ids: Sequence[str] = (),
                                replace_lines: Sequence[Line] = ()) -> Invoice: ...

    def delete_invoice(self, namespace: str, invoice_id: str) -> Invoice: ...

    def upsert_validation_issues(self, namespace: str, invoice_id: str, issues: Sequence[ValidationIssue]) -> None: ...

    def delete_split_line_group(self, namespace: str, group_id: str) -> None: ...

    def update_split_line_group(self, namespace: str, group_id: str, changes: GroupChanges) -> Any: ...


class LineEnginePort(Protocol):
    def snapshot_line_quantity(self, invoice: Invoice, line: StandardLine) -> StandardLine: ...


class ChargesApplyPort(Protocol):
    def list_charges(self, namespace: str, *, subscription_ids: Sequence[str],
                     deleted_filter: str = "base_intent") -> list[Any]: ...

    def apply_patches(self, namespace: str, patches: Any) -> None: ...

    def update_subscription_item_id(self, namespace: str, charge_id: str, item_id: str) -> Any: ...


@dataclass(frozen=True)
class ApplyPorts:
    """What ``apply_plan`` needs. ``line_engine`` defaults to ``billing`` (which has the snapshot)."""

    billing: BillingApplyPort
    line_engine: LineEnginePort | None = None
    charges: ChargesApplyPort | None = None

    @property
    def engine(self) -> LineEnginePort:
        return self.line_engine if self.line_engine is not None else self.billing  # type: ignore[return-value]
