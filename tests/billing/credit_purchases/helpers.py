"""Steps of an invoice-settled purchase's life, through billing (the way production drives it)."""

from __future__ import annotations

from billing.credit_purchases.purchase import CreditPurchase
from billing.invoices import Invoice
from billing.store.mapping import invoice_header_of, line_of
from tests.billing.credit_purchases.conftest import CUSTOMER, JAN_1, NS, intent


def invoiced(service, billing, clock, **intent_fields) -> tuple[CreditPurchase, Invoice]:  # type: ignore[no-untyped-def]
    """Create a deferred invoice purchase at Dec 1 and invoice it at Jan 1: ``active.payment.pending``,
    the invoice in ``draft.manual_approval_needed``."""
    purchase = service.create(NS, intent(**intent_fields))
    clock.set(JAN_1)
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    return service.get(NS, purchase.id), invoice


def approved(service, billing, clock, **intent_fields) -> tuple[CreditPurchase, Invoice]:  # type: ignore[no-untyped-def]
    purchase, invoice = invoiced(service, billing, clock, **intent_fields)
    return purchase, billing.approve_invoice(NS, invoice.id)


def event_args(store, purchase: CreditPurchase, line_id: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    """``invoice`` and ``line`` of the purchase's live line as an invoice event carries them."""
    with store.unit_of_work(read_only=True) as uow:
        from billing.credit_purchases import repository

        rows = repository.live_lines(uow, NS, purchase.id)
        row = rows[0] if line_id is None else uow.lines.require_row(NS, line_id)
        invoice = uow.invoices.require_row(NS, row.invoice_id)
        return {"invoice": invoice_header_of(invoice), "line": line_of(row, invoice.kind)}


def deliver(store, service, purchase: CreditPurchase, trigger: str, **overrides) -> CreditPurchase:  # type: ignore[no-untyped-def]
    """Deliver one invoice event for the purchase's line straight to the service, in a transaction."""
    args = {**event_args(store, purchase), **overrides}
    reason = args.pop("reason", None)
    with store.unit_of_work() as uow:
        return service.handle_invoice_event(uow, NS, purchase.id, trigger, args["invoice"], args["line"],
                                            reason=reason)
