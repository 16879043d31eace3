"""The operations of the step table (scenario-format §2), by ``do``."""

from __future__ import annotations

from collections.abc import Callable

from subsync.scenario import ops_billing, ops_credits, ops_overrides, ops_subscription, ops_sync
from subsync.scenario.outcome import Outcome
from subsync.scenario.steps import CREDIT_OPERATIONS, STEP_MODELS

Operation = Callable[..., Outcome]

OPERATIONS: dict[str, Operation] = {
    "sync": ops_sync.sync,
    "sync_and_invoice": ops_sync.sync_and_invoice,
    "configure": ops_sync.configure,
    "invoice_pending": ops_billing.invoice_pending,
    "advance_invoice": ops_billing.advance_invoice,
    "approve_invoice": ops_billing.approve_invoice,
    "payment": ops_billing.payment,
    "void_invoice": ops_billing.void_invoice,
    "delete_invoice": ops_billing.delete_invoice,
    "create_line": ops_billing.create_line,
    "edit_line": ops_billing.edit_line,
    "delete_line": ops_billing.delete_line,
    "edit_subscription": ops_subscription.edit_subscription,
    "cancel": ops_subscription.cancel,
    "continue": ops_subscription.continue_,
    "delete_subscription": ops_subscription.delete_subscription,
    "delete_customer": ops_billing.delete_customer,
    "usage": ops_billing.usage,
    **{name: ops_credits.needs_credits_backend for name in CREDIT_OPERATIONS},
    "grant_credits": ops_credits.grant_credits,
    "purchase_credits": ops_credits.purchase_credits,
    "external_payment": ops_credits.external_payment,
    "advance_charges": ops_credits.advance_charges,
    "set_override": ops_overrides.set_override,
    "clear_override": ops_overrides.clear_override,
}

assert set(OPERATIONS) == set(STEP_MODELS), "every step model has an operation"
