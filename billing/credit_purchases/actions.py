"""The reactions of a credit purchase: each ledger call together with the row that records it.

Every reaction is all-or-nothing (charges.md §0.4): it first checks the persisted facts (grant row,
payment row, link), then calls the ledger, then writes its realization row, all inside one savepoint.
A failure anywhere leaves no ledger entry and no row behind, so a retry runs cleanly. Each function
receives the purchase as it stands (status already set by the machine) and returns the new facts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import structlog

from billing.credit_purchases import currency_cost_bases, repository
from billing.credit_purchases.cost_basis import fiat_amount, resolve_dynamic
from billing.credit_purchases.errors import PurchaseConflictError, PurchasePreconditionFailed, PurchaseValidationError
from billing.credit_purchases.ledger_port import PurchaseLedger, VoidReason
from billing.credit_purchases.models import ChargeCostBasis, DynamicCostBasis
from billing.credit_purchases.realizations import GrantRealization, LedgerRef, Payment
from billing.credit_purchases.purchase import CreditPurchase
from billing.credit_purchases.settings import DEFAULT_SETTINGS, PurchaseSettings
from billing.ids import new_id
from billing.store.unit_of_work import UnitOfWork


@dataclass
class PurchaseContext:
    """What a purchase reaction works with: the caller's unit of work, the ledger port, the settings."""

    uow: UnitOfWork
    ledger: PurchaseLedger
    settings: PurchaseSettings = field(default_factory=lambda: DEFAULT_SETTINGS)

    @property
    def now(self) -> dt.datetime:
        return self.uow.now

    def log(self, purchase: CreditPurchase):  # type: ignore[no-untyped-def]
        return structlog.get_logger("billing.credit_purchases").bind(
            namespace=purchase.namespace, customer_id=purchase.customer_id, charge_id=purchase.id)


def _group(value: object, operation: str, purchase: CreditPurchase) -> str:
    if not isinstance(value, str) or not value:
        raise PurchaseValidationError(f"ledger {operation} returned no transaction group id ({value!r})",
                                      charge_id=purchase.id)
    return value


def settlement_amount(ctx: PurchaseContext, purchase: CreditPurchase) -> Decimal:
    """``F`` of the purchase; an unresolved basis is ``PreconditionFailed`` (§5.2)."""
    resolved = purchase.resolved_cost_basis
    if resolved is None:
        raise PurchasePreconditionFailed("cost basis is unresolved", charge_id=purchase.id,
                                         status=purchase.status.value)
    return fiat_amount(purchase.credit_amount, resolved.rate, resolved.fiat_currency, ctx.uow.custom_currencies)


def resolve_cost_basis(ctx: PurchaseContext, purchase: CreditPurchase) -> CreditPurchase:
    """Resolve a dynamic basis that has no resolved state yet, exactly once (§5.2, §5.6.5 step 4.1)."""
    basis = purchase.intent.cost_basis
    if not isinstance(basis, DynamicCostBasis):
        return purchase
    if purchase.cost_basis is None:
        raise PurchasePreconditionFailed("the dynamic cost basis has no cost-basis row", charge_id=purchase.id)
    if purchase.cost_basis.resolved is not None:
        return purchase
    uow = ctx.uow
    resolved = resolve_dynamic(
        basis, currency=purchase.currency, service_start=purchase.service_period.start, charge_id=purchase.id,
        lookup=lambda currency, fiat, at: currency_cost_bases.effective_currency_cost_basis(
            uow, purchase.namespace, currency, fiat, at),
    )
    if fiat_amount(purchase.credit_amount, resolved.rate, resolved.fiat_currency, uow.custom_currencies) <= 0:
        raise PurchaseValidationError(
            f"fiat settlement amount rounds to zero ({purchase.credit_amount} × {resolved.rate})",
            charge_id=purchase.id, field="cost_basis")
    repository.set_resolved_cost_basis(uow, purchase.namespace, purchase.id, resolved)
    updated = ChargeCostBasis(id=purchase.cost_basis.id, basis=purchase.cost_basis.basis, resolved=resolved)
    return purchase.model_copy(update={"cost_basis": updated})


def grant_promotional(ctx: PurchaseContext, purchase: CreditPurchase) -> GrantRealization:
    """§5.4: ``on_promotional_credit_purchase`` once, then the grant realization."""
    if purchase.grant is not None:
        raise PurchaseConflictError("promotional credit grant already realized", charge_id=purchase.id)
    with ctx.uow.session.begin_nested():
        tx = _group(ctx.ledger.on_promotional_credit_purchase(purchase), "on_promotional_credit_purchase", purchase)
        grant = GrantRealization(id=new_id(), transaction_group_id=tx, granted_at=ctx.now)
        repository.insert_grant(ctx.uow, purchase, grant)
    return grant


def grant_credits(ctx: PurchaseContext, purchase: CreditPurchase) -> GrantRealization:
    """§5.6.5 step 4.2 (and EX-1): ``on_credit_purchase_initiated`` once, then the grant realization."""
    if purchase.settlement_type == "promotional":
        raise PurchaseValidationError("a promotional purchase is granted by its own machine", charge_id=purchase.id)
    if purchase.grant is not None:
        raise PurchaseConflictError("credit grant already realized", charge_id=purchase.id)
    with ctx.uow.session.begin_nested():
        tx = _group(ctx.ledger.on_credit_purchase_initiated(purchase), "on_credit_purchase_initiated", purchase)
        grant = GrantRealization(id=new_id(), transaction_group_id=tx, granted_at=ctx.now)
        repository.insert_grant(ctx.uow, purchase, grant)
    return grant


def authorize_payment(ctx: PurchaseContext, purchase: CreditPurchase, amount: Decimal, *,
                      invoice_id: str | None = None, line_id: str | None = None) -> Payment:
    """Authorize the purchase's payment (§5.5, §5.6.8). An invoiced payment that failed earlier is
    re-authorized in place; any other existing payment is ``payment_already_authorized``."""
    existing = purchase.payment
    if existing is not None and not (existing.kind == "invoiced" and existing.status == "failed"):
        raise PurchaseConflictError(
            f"the purchase already has a {existing.status} payment {existing.id}",
            code="payment_already_authorized", charge_id=purchase.id)
    if amount <= 0:
        raise PurchaseValidationError(f"the fiat amount to authorize must be > 0, got {amount}",
                                      charge_id=purchase.id, field="fiat_amount")
    fiat = purchase.fiat_currency
    assert fiat is not None
    with ctx.uow.session.begin_nested():
        tx = _group(ctx.ledger.on_payment_authorized(purchase, ctx.now, amount), "on_payment_authorized", purchase)
        authorized = LedgerRef(transaction_group_id=tx, at=ctx.now)
        if existing is None:
            payment = Payment(
                id=new_id(), kind="external" if invoice_id is None else "invoiced", status="authorized",
                fiat_amount=amount, currency=fiat, service_period=purchase.service_period, authorized=authorized,
                invoice_id=invoice_id, line_id=line_id,
            )
        else:
            payment = existing.model_copy(update={"status": "authorized", "authorized": authorized})
        repository.save_payment(ctx.uow, purchase, payment)
    return payment


def _require_authorized(purchase: CreditPurchase) -> Payment:
    payment = purchase.payment
    if payment is None:
        raise PurchasePreconditionFailed("the purchase has no payment to settle",
                                         code="cannot_settle_not_authorized_payment", charge_id=purchase.id,
                                         status=purchase.status.value)
    if payment.status != "authorized":
        code = "payment_already_settled" if payment.status == "settled" else "cannot_settle_not_authorized_payment"
        raise PurchasePreconditionFailed(f"payment {payment.id} is {payment.status}, not authorized", code=code,
                                         charge_id=purchase.id, status=purchase.status.value)
    return payment


def settle_payment(ctx: PurchaseContext, purchase: CreditPurchase) -> Payment:
    """§5.5 settle external payment / §5.6.9 settle invoiced payment."""
    payment = _require_authorized(purchase)
    with ctx.uow.session.begin_nested():
        tx = _group(ctx.ledger.on_payment_settled(purchase, ctx.now, payment.fiat_amount), "on_payment_settled",
                    purchase)
        settled = payment.model_copy(update={
            "status": "settled", "settled": LedgerRef(transaction_group_id=tx, at=ctx.now)})
        repository.save_payment(ctx.uow, purchase, settled)
    return settled


def reverse_authorization(ctx: PurchaseContext, purchase: CreditPurchase) -> Payment:
    """§5.6.10: the authorized fiat amount goes back to the open receivable; the payment fails."""
    payment = purchase.payment
    if payment is None or payment.status != "authorized":
        raise PurchasePreconditionFailed("there is no authorized payment to reverse", charge_id=purchase.id,
                                         status=purchase.status.value, trigger="payment_failed")
    with ctx.uow.session.begin_nested():
        tx = _group(ctx.ledger.on_payment_authorization_reversed(purchase, ctx.now, payment.fiat_amount),
                    "on_payment_authorization_reversed", purchase)
        failed = payment.model_copy(update={"status": "failed", "failed": LedgerRef(transaction_group_id=tx, at=ctx.now)})
        repository.save_payment(ctx.uow, purchase, failed)
    return failed


def void_purchase(ctx: PurchaseContext, purchase: CreditPurchase, reason: VoidReason) -> Payment | None:
    """§5.6.11: ``purchase_void`` in one group; the payment (if any) becomes voided."""
    if purchase.grant is None:
        raise PurchasePreconditionFailed("the purchase has no grant to void", charge_id=purchase.id,
                                         status=purchase.status.value, trigger="invoice_voided")
    with ctx.uow.session.begin_nested():
        _group(ctx.ledger.on_credit_purchase_voided(purchase, ctx.now, reason), "on_credit_purchase_voided", purchase)
        payment = purchase.payment
        if payment is not None:
            payment = payment.model_copy(update={"status": "voided", "voided_at": ctx.now})
            repository.save_payment(ctx.uow, purchase, payment)
    return payment


def void_grant(ctx: PurchaseContext, purchase: CreditPurchase) -> str:
    """§5.7: forfeit the grant's remainder (``grant_void``); the status is left as it is."""
    return _group(ctx.ledger.on_credit_grant_voided(purchase, ctx.now), "on_credit_grant_voided", purchase)
