"""The state one planning run shares between its collections (reconciler.md §3).

Holds the inputs, the persisted items after reference repair (§3.3), the resolved credit switches,
the drift recorder of immutable invoices and the error context. Nothing here is global: every
``plan()`` call builds its own context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from persistedstate.errors import MissingInvoiceError
from persistedstate.invoices import InvoiceSnapshot
from persistedstate.items import PersistedItem
from reconciler.drift import DriftIssues
from reconciler.inputs import PlanInputs
from reconciler.probes import QuantityLookup
from reconciler.settings import CreditResolution


@dataclass
class PlanContext:
    inputs: PlanInputs
    #: The persisted items by identity, charges carrying repaired item references.
    items: Mapping[str, PersistedItem]
    credits: CreditResolution
    lookup: QuantityLookup
    drift: DriftIssues = field(init=False)

    def __post_init__(self) -> None:
        self.drift = DriftIssues(self.lookup, context=self.error_context())

    @property
    def invoices(self) -> Mapping[str, InvoiceSnapshot]:
        return self.inputs.persisted.invoices

    @property
    def subscription_id(self) -> str:
        return self.inputs.subscription.subscription_id

    @property
    def currency(self) -> str:
        return self.inputs.subscription.currency

    def error_context(self, identity: str | None = None) -> dict[str, Any]:
        context = self.inputs.error_context()
        if identity is not None:
            context["identity"] = identity
        return context

    def invoice(self, invoice_id: str, *, identity: str | None) -> InvoiceSnapshot:
        """The snapshot of ``invoice_id``; a missing one is an integrity error (§3.11 step 2)."""
        try:
            return self.invoices[invoice_id]
        except KeyError:
            raise MissingInvoiceError(
                f"invoice not found for persisted subscription state: {invoice_id}",
                invoice_id=invoice_id,
                **self.error_context(identity),
            ) from None
