"""The ``charge_creditpurchase`` line engine (charges.md §5.6.3, §5.6.5–§5.6.7, §6.3).

- ``gathering_line``: the one pending line of an invoice-settled purchase, in the fiat settlement
  currency, priced ``F`` (or a provisional 0 while a dynamic cost basis is unresolved).
- ``populate``: the standard line made from it once the purchase is granted: flat ``F`` in advance,
  totals ``amount = total = F``, one detailed line ``credit_amount × resolved rate`` (its id reused).
- ``CreditPurchaseEngine``: the billing hooks. Standard invoice created → ``invoice_created`` (grant and
  link), then populate; payment authorized / settled / failed → ``payment_authorized`` / ``payment_paid``
  / ``payment_failed``; invoice voided or uncollectible → ``invoice_voided``. A system deletion of an
  invoice that holds a live purchase line is refused (§5.6.7).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billing.charges.hooks import LineEngine
from billing.credit_purchases import repository
from billing.credit_purchases.actions import PurchaseContext, settlement_amount
from billing.credit_purchases.errors import PurchasePreconditionFailed, PurchaseValidationError
from billing.credit_purchases.models import ENGINE
from billing.credit_purchases.realizations import DetailedLine
from billing.credit_purchases.purchase import CreditPurchase
from billing.ids import new_id
from billing.lines import NewLine
from billing.money import canonical_text, currency_precision, exact_arithmetic, round_money
from billing.prices import FlatPrice
from billing.rating import Totals
from billing.store.mapping import invoice_header_of, line_of, set_totals
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork
from billing.types import truncate_to_second

if TYPE_CHECKING:
    from billing.credit_purchases.service import CreditPurchaseService

TAXABLE_ANNOTATION = "openmeter.io/taxable"
REASON_ANNOTATION = "openmeter.io/reason"


def line_name(purchase: CreditPurchase) -> str:
    """``"{name} ({credit_amount} {currency} credits)"`` with canonical decimal text."""
    return f"{purchase.intent.name} ({canonical_text(purchase.credit_amount)} {purchase.currency} credits)"


def provisional_amount(ctx: PurchaseContext, purchase: CreditPurchase) -> Decimal:
    """``F`` when the cost basis is resolved, else 0 (replaced at invoice creation; C-064)."""
    if purchase.resolved_cost_basis is None:
        return Decimal(0)
    return settlement_amount(ctx, purchase)


def gathering_line(purchase: CreditPurchase, amount: Decimal) -> NewLine:
    intent = purchase.intent
    invoice_at = intent.effective_at if intent.effective_at is not None else truncate_to_second(purchase.created_at)
    return NewLine(
        name=line_name(purchase),
        description=intent.description,
        managed_by=intent.managed_by,
        annotations={**intent.annotations, TAXABLE_ANNOTATION: "false", REASON_ANNOTATION: "credit-purchase"},
        metadata={str(key): str(value) for key, value in intent.metadata.items()},
        service_period=purchase.service_period,
        invoice_at=invoice_at,
        price=FlatPrice(amount=amount, payment_term="in_advance"),
        per_unit_amount=amount,
        quantity=Decimal(1),
        tax_config=intent.tax_config,
        charge_id=purchase.id,
        engine=ENGINE,
    )


def detailed_line(ctx: PurchaseContext, purchase: CreditPurchase, line: LineRow) -> DetailedLine:
    resolved = purchase.resolved_cost_basis
    if resolved is None:
        raise PurchasePreconditionFailed("cost basis is unresolved", charge_id=purchase.id,
                                         status=purchase.status.value)
    amount = settlement_amount(ctx, purchase)
    precision = currency_precision(resolved.fiat_currency, custom=ctx.uow.custom_currencies)
    with exact_arithmetic():
        product = purchase.credit_amount * resolved.rate
    if round_money(product, precision) != amount:
        raise AssertionError(f"credit purchase {purchase.id}: {purchase.credit_amount} × {resolved.rate} ≠ {amount}")
    previous = purchase.link.detailed_line if purchase.link is not None else None
    return DetailedLine(
        id=previous.id if previous is not None else new_id(),
        service_period=purchase.service_period.model_copy(),
        quantity=purchase.credit_amount,
        per_unit_amount=resolved.rate,
        amount=amount,
        total=amount,
    )


def populate(ctx: PurchaseContext, purchase: CreditPurchase, line: LineRow) -> None:
    """Price the standard line from the resolved purchase (§5.6.6) and record its detailed line."""
    detailed = detailed_line(ctx, purchase, line)
    amount = detailed.amount
    line.price = FlatPrice(amount=amount, payment_term="in_advance").model_dump(mode="json")
    line.price_type = "flat"
    line.per_unit_amount = amount
    line.quantity = Decimal(1)
    set_totals(line, Totals(amount=amount, total=amount))
    line.updated_at = ctx.now
    if purchase.link is not None and purchase.link.line_id == line.id:
        repository.set_detailed_line(ctx.uow, purchase, detailed)


def check_lines(invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
    """The lines-for-charges input (§5.6.5 step 2, §8 #21–22): every problem in one error."""
    problems: list[str] = []
    if not invoice.namespace:
        problems.append("invoice namespace is required")
    for line in lines:
        if not line.charge_id:
            problems.append(f"line {line.id}: charge ID is required")
        if line.namespace != invoice.namespace:
            problems.append(f"line {line.id}: namespace {line.namespace!r} does not match invoice namespace"
                            f" {invoice.namespace!r}")
        if line.invoice_id != invoice.id:
            problems.append(f"line {line.id} is on invoice {line.invoice_id}, not {invoice.id}")
    for charge_id, count in Counter(line.charge_id for line in lines if line.charge_id).items():
        if count > 1:
            problems.append(f"credit purchase charge {charge_id} is referenced by multiple standard lines")
    if problems:
        raise PurchaseValidationError("; ".join(problems), field="lines")


class CreditPurchaseEngine(LineEngine):
    """Billing's hooks for ``charge_creditpurchase`` lines, delegating each event to the service."""

    name = ENGINE

    def __init__(self, service: "CreditPurchaseService") -> None:
        self.service = service

    def _event(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow], trigger: str,
               **args: Any) -> None:
        check_lines(invoice, lines)
        header = invoice_header_of(invoice)
        for row in sorted(lines, key=lambda line: line.sequence):
            assert row.charge_id is not None
            self.service.handle_invoice_event(uow, invoice.namespace, row.charge_id, trigger, header,
                                              line_of(row, invoice.kind), **args)

    def on_standard_invoice_created(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        check_lines(invoice, lines)
        header = invoice_header_of(invoice)
        for row in sorted(lines, key=lambda line: line.sequence):
            assert row.charge_id is not None
            purchase = self.service.handle_invoice_event(uow, invoice.namespace, row.charge_id, "invoice_created",
                                                         header, line_of(row, invoice.kind))
            populate(self.service.context(uow), purchase, row)
        uow.flush()

    def on_payment_authorized(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        self._event(uow, invoice, lines, "payment_authorized")

    def on_payment_settled(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        self._event(uow, invoice, lines, "payment_paid")

    def on_payment_failed(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        self._event(uow, invoice, lines, "payment_failed")

    def on_invoice_voided(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        self._event(uow, invoice, lines, "invoice_voided", reason="voided")

    def on_invoice_uncollectible(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        self._event(uow, invoice, lines, "invoice_voided", reason="uncollectible")

    def _refuse_deletion(self, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        live = [line for line in lines if line.deleted_at is None]
        if live:
            raise PurchasePreconditionFailed(
                f"invoice {invoice.id} holds credit-purchase line(s) {', '.join(line.id for line in live)}"
                " (charge-managed line cannot be updated): a purchase line is never deleted",
                charge_id=live[0].charge_id)

    def on_invoice_deleted(self, uow: UnitOfWork, invoice: InvoiceRow, lines: Sequence[LineRow]) -> None:
        self._refuse_deletion(invoice, lines)

    def on_mutable_lines_deleted_by_system(self, uow: UnitOfWork, invoice: InvoiceRow,
                                           lines: Sequence[LineRow]) -> None:
        self._refuse_deletion(invoice, lines)
