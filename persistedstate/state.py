"""``PersistedState``: the frozen snapshot of what billing already holds for one subscription.

- ``by_identity``: every loaded item that has an identity, under that identity (read-only mapping);
- ``invoices``: a snapshot of every invoice an invoice item references, by id;
- ``fingerprint``: the basis of a plan (``persistedstate.fingerprint``).

Built by ``load_persisted_state``; planner tests may build one by hand (``PersistedState.of``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from persistedstate.fingerprint import fingerprint as compute_fingerprint
from persistedstate.frozen import FrozenMap
from persistedstate.invoices import InvoiceSnapshot
from persistedstate.items import InvoiceLineItem, PersistedItem, SplitLineGroupItem


class PersistedState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    by_identity: Mapping[str, PersistedItem]
    invoices: Mapping[str, InvoiceSnapshot]
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _consistent(self) -> "PersistedState":
        for identity, item in self.by_identity.items():
            if item.identity != identity:
                raise ValueError(f"by_identity[{identity!r}] holds the {item.shape} of identity {item.identity!r}")
        for invoice_id, invoice in self.invoices.items():
            if invoice.id != invoice_id:
                raise ValueError(f"invoices[{invoice_id!r}] holds invoice {invoice.id!r}")
        for item in self.by_identity.values():
            if isinstance(item, (InvoiceLineItem, SplitLineGroupItem)):
                missing = [invoice_id for invoice_id in item.invoice_ids if invoice_id not in self.invoices]
                if missing:
                    raise ValueError(f"{item.shape} {item.identity}: invoice(s) {', '.join(missing)} not in invoices")
        object.__setattr__(self, "by_identity", FrozenMap(self.by_identity))
        object.__setattr__(self, "invoices", FrozenMap(self.invoices))
        return self

    @field_serializer("by_identity", "invoices", mode="wrap")
    def _as_dict(self, value: Mapping[str, Any], handler: Any) -> Any:
        return handler(dict(value))

    @classmethod
    def of(cls, items: Iterable[PersistedItem], invoices: Iterable[InvoiceSnapshot] = ()) -> "PersistedState":
        """A state of ``items`` (indexed by identity; items without one are dropped) and ``invoices``,
        fingerprinted as the loader would fingerprint the same rows."""
        items = list(items)
        invoices = list(invoices)
        return cls(
            by_identity={item.identity: item for item in sorted(items, key=_identity) if item.identity is not None},
            invoices={invoice.id: invoice for invoice in sorted(invoices, key=lambda invoice: invoice.id)},
            fingerprint=compute_fingerprint(items, invoices),
        )

    @classmethod
    def empty(cls) -> "PersistedState":
        return cls.of([])

    def get(self, identity: str) -> PersistedItem | None:
        return self.by_identity.get(identity)

    @property
    def identities(self) -> list[str]:
        """Every identity, sorted as Python strings (the planner's order, reconciler §3.7)."""
        return sorted(self.by_identity)

    @property
    def line_ids(self) -> frozenset[str]:
        """Every line of the state: standalone lines and split children, deleted ones included
        (the lines whose issues this subscription's sync owns, reconciler §1.4)."""
        return frozenset(
            line_id
            for item in self.by_identity.values()
            if isinstance(item, (InvoiceLineItem, SplitLineGroupItem))
            for line_id in item.line_ids
        )


def _identity(item: PersistedItem) -> str:
    return item.identity or ""
