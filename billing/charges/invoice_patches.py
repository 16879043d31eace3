"""The invoice patches charges emit (charges.md §6.4, reconciler.md §5.5).

A charge never writes invoice lines itself: its lifecycle returns these patches and the charges
invoice updater (``billing.charges.invoice_updater``) applies one customer batch of them.

| patch | meaning |
|---|---|
| ``LineCreate`` | a new pending line on the customer's gathering invoice for ``currency`` |
| ``LineDelete`` | delete ``line_id`` on ``invoice_id`` (gathering, mutable or immutable standard) |
| ``LineUpdate`` | replace a stored line with ``line`` (same id and invoice) |
| ``DeleteGatheringLineByChargeId`` | every live gathering line of the charge becomes a delete |
| ``UpsertGatheringLineByChargeId`` | merge onto the charge's live gathering line, or create one |
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, model_validator

from billing.lines import Line, NewLine


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineCreate(_Frozen):
    kind: Literal["line_create"] = "line_create"
    currency: str
    line: NewLine

    @model_validator(mode="after")
    def _charge_line(self) -> "LineCreate":
        if not self.line.charge_id:
            raise ValueError(f"line_create {self.line.name!r}: the charges updater only touches lines with a charge id")
        return self


class LineDelete(_Frozen):
    kind: Literal["line_delete"] = "line_delete"
    line_id: str
    invoice_id: str


class LineUpdate(_Frozen):
    kind: Literal["line_update"] = "line_update"
    line: Line

    @model_validator(mode="after")
    def _charge_line(self) -> "LineUpdate":
        if not self.line.charge_id:
            raise ValueError(f"line_update {self.line.id}: the charges updater only touches lines with a charge id")
        return self


class DeleteGatheringLineByChargeId(_Frozen):
    kind: Literal["delete_gathering_line_by_charge_id"] = "delete_gathering_line_by_charge_id"
    charge_id: str


class UpsertGatheringLineByChargeId(_Frozen):
    kind: Literal["upsert_gathering_line_by_charge_id"] = "upsert_gathering_line_by_charge_id"
    charge_id: str
    currency: str
    line: NewLine

    @model_validator(mode="after")
    def _same_charge(self) -> "UpsertGatheringLineByChargeId":
        if self.line.charge_id != self.charge_id:
            raise ValueError(
                f"upsert_gathering_line_by_charge_id {self.charge_id}: the target line carries charge id"
                f" {self.line.charge_id!r}"
            )
        return self


InvoicePatch = Annotated[
    Union[
        Annotated[LineCreate, Tag("line_create")],
        Annotated[LineDelete, Tag("line_delete")],
        Annotated[LineUpdate, Tag("line_update")],
        Annotated[DeleteGatheringLineByChargeId, Tag("delete_gathering_line_by_charge_id")],
        Annotated[UpsertGatheringLineByChargeId, Tag("upsert_gathering_line_by_charge_id")],
    ],
    Discriminator("kind"),
]


class InvoicePatches:
    """An ordered list of invoice patches with the helpers the state machines use (reconciler §5.5)."""

    def __init__(self, patches: Iterable[InvoicePatch] = ()) -> None:
        self._items: list[InvoicePatch] = list(patches)

    def __iter__(self) -> Iterator[InvoicePatch]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"InvoicePatches({self._items!r})"

    def append(self, patch: InvoicePatch) -> None:
        self._items.append(patch)

    def extend(self, patches: Iterable[InvoicePatch]) -> None:
        self._items.extend(patches)

    def of_kind(self, kind: str) -> list[InvoicePatch]:
        return [p for p in self._items if p.kind == kind]

    def bisect_by_standard_invoice_id(self, invoice_id: str) -> tuple["InvoicePatches", "InvoicePatches"]:
        """(that invoice's line deletes and updates, everything else)."""
        mine, rest = InvoicePatches(), InvoicePatches()
        for patch in self._items:
            on_invoice = (isinstance(patch, LineDelete) and patch.invoice_id == invoice_id) or (
                isinstance(patch, LineUpdate) and patch.line.invoice_id == invoice_id)
            (mine if on_invoice else rest).append(patch)
        return mine, rest

    def require_type(self, kind: str, at_most: int) -> list[InvoicePatch]:
        found = self.of_kind(kind)
        if len(found) > at_most:
            raise ValueError(f"expected at most {at_most} {kind} patches, got {len(found)}")
        return found

    def require_singular_standard_invoice_line_delete(self) -> LineDelete:
        deletes = self.of_kind("line_delete")
        if len(deletes) != 1 or len(self._items) != 1:
            raise ValueError(f"expected exactly one line delete, got {self._items!r}")
        return deletes[0]  # type: ignore[return-value]

    def require_singular_line_update_for_target(self, line: Line) -> LineUpdate:
        updates = [p for p in self.of_kind("line_update") if p.line.id == line.id and p.line.invoice_id == line.invoice_id]  # type: ignore[union-attr]
        if len(updates) != 1 or len(self._items) != 1:
            raise ValueError(f"expected exactly one update of line {line.id}, got {self._items!r}")
        return updates[0]  # type: ignore[return-value]

    def require_singular_gathering_line_patch_for_charge(self, charge_id: str) -> InvoicePatch:
        found = [p for p in self._items if getattr(p, "charge_id", None) == charge_id
                 or (isinstance(p, LineCreate) and p.line.charge_id == charge_id)]
        if len(found) != 1:
            raise ValueError(f"expected exactly one gathering-line patch for charge {charge_id}, got {found!r}")
        return found[0]
