"""Credit operations of a scenario (scenario-format §2).

| ``do`` | what runs |
|---|---|
| ``grant_credits`` | a promotional credit purchase (``managed_by: system``) pinned at ``effective_at`` |
| ``purchase_credits`` | a credit purchase with the step's settlement; external and invoice ones at ``cost_basis`` (default 1) |
| ``external_payment`` | ``authorized`` / ``settled`` of an external purchase, found by its key |
| ``advance_charges`` | the charge-advance pass for the customer: ``ChargesService.advance_charges`` (due flat-fee and usage charges, then deferred purchase invoicing) |

Purchases and charges run on the world store's charges stack (``subsync.sync.charges_stack``): one
``CreditPurchaseService`` and one ``ChargesService`` on the store ledger (``billing.ledger``). Building it
registers the ``charge_creditpurchase``, ``charge_flatfee`` and ``charge_usagebased`` line engines, so the
invoice steps drive invoice-settled purchases and charge lines (``set_override`` / ``clear_override``:
``ops_overrides``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.credit_purchases.models import PurchaseIntent
from billing.credit_purchases.service import CreditPurchaseService
from billing.ledger import StoreLedger
from subsync.scenario.errors import CreditsBackendRequiredError
from subsync.scenario.outcome import Outcome
from subsync.scenario.steps import (
    AdvanceChargesStep,
    ExternalPaymentStep,
    GrantCreditsStep,
    PurchaseCreditsStep,
    StepBase,
)
from subsync.sync.charges_stack import charges_stack

PROMOTIONAL_NAME = "Promotional Credit Purchase"
PURCHASE_NAME = "Credit Purchase"


def purchase_service(world) -> CreditPurchaseService:  # type: ignore[no-untyped-def]
    """The world's credit-purchase service (its stack built, and line engines registered, on first use)."""
    return charges_stack(world.store).purchases


def ledger(world) -> StoreLedger:  # type: ignore[no-untyped-def]
    return StoreLedger(world.store)


def _intent(world, *, name: str, amount: Decimal, settlement: dict[str, Any], key: str | None,  # type: ignore[no-untyped-def]
            cost_basis: Decimal | None, effective_at, managed_by: str) -> PurchaseIntent:
    return PurchaseIntent(
        customer_id=world.customer_id, currency=world.currency, name=name, credit_amount=amount,
        settlement=settlement, managed_by=managed_by, key=key, effective_at=effective_at,
        cost_basis=None if cost_basis is None else {"type": "fiat", "rate": cost_basis},
    )


def grant_credits(world, step: GrantCreditsStep) -> Outcome:  # type: ignore[no-untyped-def]
    intent = _intent(world, name=PROMOTIONAL_NAME, amount=step.amount, settlement={"type": "promotional"}, key=None,
                     cost_basis=None, effective_at=step.effective_at or world.clock.now(), managed_by="system")
    purchase_service(world).create(world.namespace, intent)
    return Outcome()


def purchase_credits(world, step: PurchaseCreditsStep) -> Outcome:  # type: ignore[no-untyped-def]
    settlement: dict[str, Any] = {"type": step.settlement}
    if step.settlement == "external":
        settlement["initial_status"] = "created"
    cost_basis = None if step.settlement == "promotional" else (
        step.cost_basis if step.cost_basis is not None else Decimal(1))
    intent = _intent(world, name=PURCHASE_NAME, amount=step.amount, settlement=settlement, key=step.key,
                     cost_basis=cost_basis, effective_at=step.effective_at or world.clock.now(), managed_by="manual")
    purchase_service(world).create(world.namespace, intent)
    return Outcome()


def external_payment(world, step: ExternalPaymentStep) -> Outcome:  # type: ignore[no-untyped-def]
    service = purchase_service(world)
    purchase = service.get_by_key(world.namespace, world.customer_id, step.purchase)
    service.transition_external_payment(world.namespace, purchase.id, step.event)
    return Outcome()


def advance_charges(world, step: AdvanceChargesStep) -> Outcome:  # type: ignore[no-untyped-def]
    charges_stack(world.store).advance_customer(world.namespace, world.customer_id)
    return Outcome()


def needs_credits_backend(world, step: StepBase) -> Outcome:  # type: ignore[no-untyped-def]
    raise CreditsBackendRequiredError(step.do)  # type: ignore[attr-defined]
