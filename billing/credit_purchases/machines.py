"""The three credit-purchase state machines (charges.md §5.4, §5.5, §5.6.12) on the charge machine engine.

``billing.charges.machine.ChargeMachine`` does the firing (§1.7): unknown trigger → validation error,
no rule for (status, trigger) → ``PreconditionFailed`` naming both, target set before the on-entry
action runs, then the on-activate action of the reached status, then the registry row is persisted
(``history`` lists every persisted status). These classes declare the rules and the actions.

| machine | rules |
|---|---|
| promotional | PR-1 ``created`` →next→ ``final``; PR-2 ``active`` →next→ ``final`` (grant on entry); PR-3 ``final`` is stable |
| external | EX-1 … EX-7 |
| invoice | IN-1 … IN-12 |

An action sees the purchase with the new status (``self.purchase``) and records what it realized
with ``self.record``, so the next action, and the ledger, see it too.
"""

from __future__ import annotations

from typing import Any, ClassVar

from billing.charges.machine import ChargeMachine, Rule, rule
from billing.credit_purchases import actions, repository
from billing.credit_purchases.actions import PurchaseContext
from billing.credit_purchases.errors import PurchaseValidationError
from billing.credit_purchases.ledger_port import VoidReason
from billing.credit_purchases.models import PurchaseStatus
from billing.credit_purchases.realizations import InvoiceLink
from billing.credit_purchases.purchase import CreditPurchase
from billing.invoices import InvoiceHeader
from billing.lines import Line

S = PurchaseStatus


class PurchaseMachine(ChargeMachine):
    """A fresh machine around one loaded purchase (its realizations travel with it)."""

    settlement: ClassVar[str]

    def __init__(self, ctx: PurchaseContext, purchase: CreditPurchase) -> None:
        if ctx is None or ctx.uow is None or ctx.ledger is None:
            raise ValueError("a credit-purchase machine needs a unit of work and a ledger")
        if purchase.settlement_type != self.settlement:
            raise PurchaseValidationError(
                f"credit purchase {purchase.id} is {purchase.settlement_type}: it is not {self.settlement}",
                charge_id=purchase.id)
        super().__init__(ctx, purchase.charge)  # type: ignore[arg-type]
        self.purchase_ctx = ctx
        self._facts = purchase

    @property
    def purchase(self) -> CreditPurchase:
        """The purchase as it stands now: the current charge row with every fact recorded so far."""
        return self._facts.model_copy(update={"charge": self.charge})

    def record(self, **facts: Any) -> None:
        self._facts = self._facts.model_copy(update=facts)

    # -- shared actions ------------------------------------------------------------------------------
    def grant_credits(self, line: Line | None = None, invoice: InvoiceHeader | None = None, **_: Any) -> None:
        """Resolve a dynamic basis, grant, and (invoice settlement) link the invoice and line."""
        resolved = actions.resolve_cost_basis(self.purchase_ctx, self.purchase)
        self.record(cost_basis=resolved.cost_basis)
        self.record(grant=actions.grant_credits(self.purchase_ctx, self.purchase))
        if line is not None:
            link = InvoiceLink(invoice_id=line.invoice_id, line_id=line.id, linked_at=self.now)
            repository.insert_link(self.purchase_ctx.uow, self.purchase, link)
            self.record(link=link)

    def settle_payment(self, **_: Any) -> None:
        self.record(payment=actions.settle_payment(self.purchase_ctx, self.purchase))


class PromotionalMachine(PurchaseMachine):
    settlement = "promotional"
    rules: ClassVar[tuple[Rule, ...]] = (
        rule((S.CREATED, S.ACTIVE), "next", S.FINAL, action="grant_promotional"),
    )
    activations: ClassVar[dict[str, str]] = {}

    def grant_promotional(self, **_: Any) -> None:
        self.record(grant=actions.grant_promotional(self.purchase_ctx, self.purchase))


class ExternalMachine(PurchaseMachine):
    settlement = "external"
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(S.CREATED, "next", S.INITIAL_CREDIT_GRANT),                           # EX-1
        rule(S.INITIAL_CREDIT_GRANT, "next", S.PAYMENT_PENDING),                   # EX-2
        rule(S.PAYMENT_PENDING, "payment_authorized", S.PAYMENT_AUTHORIZED),       # EX-3
        rule(S.PAYMENT_PENDING, "payment_paid", S.PAID_AND_AUTHORIZED),            # EX-4
        rule(S.PAID_AND_AUTHORIZED, "next", S.PAYMENT_SETTLED),                    # EX-5
        rule(S.PAYMENT_AUTHORIZED, "payment_paid", S.PAYMENT_SETTLED),             # EX-6
        rule(S.PAYMENT_SETTLED, "next", S.FINAL),                                  # EX-7
    )
    activations: ClassVar[dict[str, str]] = {
        S.INITIAL_CREDIT_GRANT: "grant_credits",
        S.PAYMENT_AUTHORIZED: "authorize_external",
        S.PAID_AND_AUTHORIZED: "authorize_external",
        S.PAYMENT_SETTLED: "settle_payment",
    }

    def authorize_external(self, **_: Any) -> None:
        amount = actions.settlement_amount(self.purchase_ctx, self.purchase)
        self.record(payment=actions.authorize_payment(self.purchase_ctx, self.purchase, amount))


class InvoiceMachine(PurchaseMachine):
    settlement = "invoice"
    _open = (S.PAYMENT_PENDING, S.PAYMENT_AUTHORIZED, S.PAYMENT_FAILED)
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(S.CREATED, "invoice_created", S.INITIAL_CREDIT_GRANT, action="grant_credits"),            # IN-1
        rule(S.INITIAL_CREDIT_GRANT, "next", S.PAYMENT_PENDING, action="clear_advance_after"),         # IN-2
        rule(S.PAYMENT_PENDING, "payment_authorized", S.PAYMENT_AUTHORIZED, action="authorize_invoiced"),  # IN-3
        rule(S.PAYMENT_PENDING, "payment_paid", S.PAID_AND_AUTHORIZED, action="authorize_invoiced"),   # IN-4
        rule(S.PAID_AND_AUTHORIZED, "next", S.PAYMENT_SETTLED),                                        # IN-5
        rule(S.PAYMENT_AUTHORIZED, "payment_paid", S.PAYMENT_SETTLED),                                 # IN-6
        rule(S.PAYMENT_SETTLED, "next", S.FINAL),                                                      # IN-7
        rule(S.PAYMENT_AUTHORIZED, "payment_failed", S.PAYMENT_FAILED, action="reverse_authorization"),  # IN-8
        rule(S.PAYMENT_FAILED, "payment_authorized", S.PAYMENT_AUTHORIZED, action="authorize_invoiced"),  # IN-9
        rule(S.PAYMENT_FAILED, "payment_paid", S.PAID_AND_AUTHORIZED, action="authorize_invoiced"),    # IN-10
        rule(_open, "invoice_voided", S.VOIDED, action="void_purchase"),                               # IN-11
        rule(S.PAYMENT_PENDING, "payment_failed", None, action="failed_while_pending"),                # IN-12
    )
    activations: ClassVar[dict[str, str]] = {S.PAYMENT_SETTLED: "settle_payment"}

    def clear_advance_after(self, **_: Any) -> None:
        self.set_advance_after(None)

    def authorize_invoiced(self, line: Line, invoice: InvoiceHeader, **_: Any) -> None:
        """§5.6.8: the ledger receives exactly the line total, never a recomputed amount."""
        payment = actions.authorize_payment(self.purchase_ctx, self.purchase, line.totals.total,
                                            invoice_id=invoice.id, line_id=line.id)
        self.record(payment=payment)

    def reverse_authorization(self, **_: Any) -> None:
        self.record(payment=actions.reverse_authorization(self.purchase_ctx, self.purchase))

    def void_purchase(self, reason: VoidReason = "voided", **_: Any) -> None:
        payment = actions.void_purchase(self.purchase_ctx, self.purchase, reason)
        self.record(payment=payment)
        at = self.now.isoformat()
        self.set_state(voided_at=at, void_reason=reason)
        if self.charge.state.get("grant_voided_at") is None:
            self.set_state(grant_voided_at=at)

    def failed_while_pending(self, **_: Any) -> None:
        self.log.info("credit_purchase.payment_failed_while_pending", status=self.status)


MACHINES: dict[str, type[PurchaseMachine]] = {
    "promotional": PromotionalMachine, "external": ExternalMachine, "invoice": InvoiceMachine,
}


def machine_for(ctx: PurchaseContext, purchase: CreditPurchase) -> PurchaseMachine:
    return MACHINES[purchase.settlement_type](ctx, purchase)
