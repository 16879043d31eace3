"""Line engines and the invoice-lifecycle hooks they run (charges.md §6.3).

Every invoice line names its engine (``invoicing``, ``charge_flatfee``, ``charge_usagebased``,
``charge_creditpurchase``). Engines are registered **per store and per engine name** — the charges
service registers ``charge_flatfee`` and ``charge_usagebased`` when it is built, the credit-purchase
service registers ``charge_creditpurchase`` the same way::

    register_engine(store, "charge_creditpurchase", MyEngine(...))

Billing's operations call ``dispatch(uow, moment, invoice_row)`` at each lifecycle moment; it hands
every registered engine the invoice and the live lines of that engine (in line order). Lines of an
engine nobody registered are left alone (plain ``invoicing`` lines never have an engine here), so
billing keeps working without the charges backend. This module imports nothing from billing's
operations, which import it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from billing.store.tables import InvoiceRow, LineRow
    from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


class Moment(StrEnum):
    """The billing moments of the §6.3 table."""

    STANDARD_INVOICE_CREATED = "standard_invoice_created"
    COLLECTION_COMPLETED = "collection_completed"
    INVOICE_FINALIZING = "invoice_finalizing"
    INVOICE_ISSUED = "invoice_issued"
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_SETTLED = "payment_settled"
    PAYMENT_FAILED = "payment_failed"
    INVOICE_VOIDED = "invoice_voided"
    #: The invoice was marked uncollectible: "on invoice voided" with reason ``uncollectible`` (§5.6.11).
    INVOICE_UNCOLLECTIBLE = "invoice_uncollectible"
    MUTABLE_LINES_DELETED_BY_SYSTEM = "mutable_lines_deleted_by_system"
    UNSUPPORTED_CREDIT_NOTE = "unsupported_credit_note"
    INVOICE_DELETED = "invoice_deleted"


class LineEngine:
    """Base of a line engine: one no-op method per moment; an engine overrides what it needs.

    Each method receives the caller's unit of work, the invoice row and the engine's line rows of it.
    """

    name: str = ""

    def on_standard_invoice_created(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_collection_completed(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_invoice_finalizing(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_invoice_issued(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_payment_authorized(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_payment_settled(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_payment_failed(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_invoice_voided(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_invoice_uncollectible(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None:
        self.on_invoice_voided(uow, invoice, lines)  # an engine that does not tell the reasons apart
    def on_mutable_lines_deleted_by_system(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_unsupported_credit_note(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...
    def on_invoice_deleted(self, uow: "UnitOfWork", invoice: "InvoiceRow", lines: Sequence["LineRow"]) -> None: ...


_REGISTRIES: "weakref.WeakKeyDictionary[Any, dict[str, LineEngine]]" = weakref.WeakKeyDictionary()


def register_engine(store: Any, name: str, engine: LineEngine) -> None:
    """Register ``engine`` under ``name`` for ``store`` (re-registering a name replaces it)."""
    _REGISTRIES.setdefault(store, {})[name] = engine


def engines_for(store: Any) -> dict[str, LineEngine]:
    return dict(_REGISTRIES.get(store, {}))


def dispatch(uow: "UnitOfWork", moment: Moment, invoice: "InvoiceRow",
             lines: Sequence["LineRow"] | None = None) -> None:
    """Run ``moment``'s hook of every registered engine with its lines of ``invoice``.

    ``lines`` defaults to the invoice's live lines. Engines run in name order; a hook error
    propagates (the caller's transaction, or savepoint, rolls the moment back).
    """
    registry = _REGISTRIES.get(uow.store)
    if not registry:
        return
    if lines is None:
        lines = uow.invoices.line_rows(invoice.id, include_deleted=False)
    for name in sorted(registry):
        mine = [line for line in lines if line.engine == name]
        if mine:
            getattr(registry[name], f"on_{moment.value}")(uow, invoice, mine)
