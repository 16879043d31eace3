"""Invoice events for an invoice-settled purchase: validation (charges.md §5.6.14) and replays (§5.6.13).

``classify`` runs before anything is written. It refuses a malformed event (``ValidationError``), an
event naming another invoice or line than the one recorded on the purchase (``invoice_created``:
``ValidationError``; a payment event: ``ConflictError``, both code ``payment_event_mismatch``), a payment
for a voided purchase (``PreconditionFailed`` ``credit_purchase_charge_voided``) and a failure or void
of a settled one (``PreconditionFailed``). It answers ``replay`` when the purchase already reflects the
event (nothing is written, no ledger call is made), else ``fire``.
"""

from __future__ import annotations

from typing import Literal

from billing.credit_purchases.errors import PurchaseConflictError, PurchasePreconditionFailed, PurchaseValidationError
from billing.credit_purchases.models import INVOICE_EVENT_TRIGGERS, PurchaseStatus, Trigger
from billing.credit_purchases.purchase import CreditPurchase
from billing.invoices import InvoiceHeader
from billing.lines import Line

S = PurchaseStatus
T = Trigger

#: (trigger, status) pairs in which the purchase already reflects the event.
REPLAYS: frozenset[tuple[Trigger, PurchaseStatus]] = frozenset({
    (T.PAYMENT_AUTHORIZED, S.PAYMENT_AUTHORIZED),
    (T.PAYMENT_AUTHORIZED, S.FINAL),
    (T.PAYMENT_PAID, S.FINAL),
    (T.PAYMENT_FAILED, S.PAYMENT_FAILED),
    (T.INVOICE_VOIDED, S.VOIDED),
})


def _trigger(value: str, purchase: CreditPurchase) -> Trigger:
    try:
        trigger = Trigger(str(value))
    except ValueError:
        trigger = None
    if trigger is None or trigger not in INVOICE_EVENT_TRIGGERS:
        raise PurchaseValidationError(f"unsupported trigger {value!r} for an invoice event", charge_id=purchase.id,
                                      field="trigger")
    return trigger


def _check_shape(purchase: CreditPurchase, invoice: InvoiceHeader | None, line: Line | None) -> None:
    def invalid(message: str, field: str) -> PurchaseValidationError:
        return PurchaseValidationError(message, charge_id=purchase.id, field=field)

    if purchase.settlement_type != "invoice":
        raise invalid(f"credit purchase {purchase.id} is settled {purchase.settlement_type}, not by invoice",
                      "settlement")
    if invoice is None:
        raise invalid("the event carries no invoice", "invoice")
    if line is None:
        raise invalid("the event carries no line", "line")
    if not invoice.id:
        raise invalid("the event's invoice id is empty", "invoice.id")
    if invoice.namespace != purchase.namespace or line.namespace != purchase.namespace:
        raise invalid(f"namespace mismatch: invoice {invoice.namespace!r}, line {line.namespace!r},"
                      f" charge {purchase.namespace!r}", "namespace")
    if line.charge_id != purchase.id:
        raise invalid(f"line {line.id} belongs to charge {line.charge_id!r}, not {purchase.id}", "line.charge_id")
    if line.invoice_id != invoice.id:
        raise invalid(f"line {line.id} is on invoice {line.invoice_id}, not on invoice {invoice.id}", "line.invoice_id")


def _check_recorded(purchase: CreditPurchase, trigger: Trigger, invoice: InvoiceHeader, line: Line) -> None:
    for record in (purchase.link, purchase.payment):
        if record is None:
            continue
        if trigger == T.INVOICE_CREATED and (record.invoice_id != invoice.id or record.line_id != line.id):
            raise PurchaseValidationError(
                f"credit purchase is already invoiced on invoice {record.invoice_id} (line {record.line_id});"
                f" refused invoice {invoice.id} line {line.id}",
                code="payment_event_mismatch", charge_id=purchase.id, field="invoice.id")
        if record.invoice_id != invoice.id:
            raise PurchaseConflictError(
                f"payment invoice ID must match invoice: recorded {record.invoice_id}, event {invoice.id}"
                f" (trigger {trigger.value})", code="payment_event_mismatch", charge_id=purchase.id)
        if record.line_id != line.id:
            raise PurchaseConflictError(
                f"payment line ID must match line: recorded {record.line_id}, event {line.id}"
                f" (trigger {trigger.value})", code="payment_event_mismatch", charge_id=purchase.id)


def classify(purchase: CreditPurchase, trigger: str, invoice: InvoiceHeader | None,
             line: Line | None) -> Literal["fire", "replay"]:
    """Validate an invoice event against the purchase; ``replay`` when it changes nothing."""
    fired = _trigger(trigger, purchase)
    _check_shape(purchase, invoice, line)
    assert invoice is not None and line is not None
    _check_recorded(purchase, fired, invoice, line)
    status = purchase.status
    if fired == T.INVOICE_CREATED:
        return "replay" if status != S.CREATED else "fire"
    if (fired, status) in REPLAYS:
        return "replay"
    if status == S.VOIDED and fired in (T.PAYMENT_AUTHORIZED, T.PAYMENT_PAID):
        raise PurchasePreconditionFailed(
            f"credit purchase {purchase.id} was voided with its invoice: {fired.value} refused",
            code="credit_purchase_charge_voided", charge_id=purchase.id, status=status.value, trigger=fired.value)
    if status == S.FINAL and fired in (T.PAYMENT_FAILED, T.INVOICE_VOIDED):
        raise PurchasePreconditionFailed(
            f"credit purchase is already settled: {fired.value} refused", charge_id=purchase.id,
            status=status.value, trigger=fired.value)
    return "fire"
