"""Standard-invoice lifecycle driven through the store (billing.md §1).

``billing.invoice_lifecycle`` decides where a trigger leads and which transient steps it passes;
this module runs the hooks of those steps on the stored invoice and persists the resting status:

| step | hook here |
|---|---|
| ``collect`` | re-snapshot usage quantities, rerate; ``collected_at = now`` |
| ``issue`` | ``issued_at = now``, ``due_at = now + due_after``; lines become immutable with the invoice |
| ``authorize``, ``settle``, ``fail``, ``mark_uncollectible``, ``void`` | nothing for plain lines |
| ``delete`` | ``deleted_at = now``; the lines stay as they are, on an invoice whose status is ``deleted`` |

After billing's own work, each step runs its line-engine moments (``STEP_MOMENTS``, charges.md §6.3)
through ``billing.charges.hooks.dispatch``: charge engines react to the invoice's lines of their engine.
"""

from __future__ import annotations

import datetime as dt

import structlog

from billing.charges.hooks import Moment, dispatch
from billing.customers import Customer, add_duration
from billing.errors import IllegalTransitionError
from billing.invoice_lifecycle import LifecycleStep, Transition, initial_status, is_immutable, next_status
from billing.operations.rerating import recalculate
from billing.store.mapping import customer_of
from billing.store.tables import InvoiceRow
from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


def draft_period_ends_at(invoice: InvoiceRow, customer: Customer) -> dt.datetime:
    return add_duration(invoice.created_at, customer.billing_profile.invoicing.draft_period)


def _context(uow: UnitOfWork, invoice: InvoiceRow) -> tuple[dict, Customer]:
    customer = customer_of(uow.customers.require_row(invoice.namespace, invoice.customer_id))
    profile = customer.billing_profile
    assert invoice.collection_at is not None
    return dict(
        now=uow.now,
        collection_at=invoice.collection_at,
        draft_period_ends_at=draft_period_ends_at(invoice, customer),
        auto_advance=profile.invoicing.auto_advance,
        payment_app=profile.payment_app,
        invoice=invoice.id,
    ), customer


#: The line-engine moments (charges.md §6.3) each step runs, in order, after billing's own work.
STEP_MOMENTS: dict[LifecycleStep, tuple[Moment, ...]] = {
    LifecycleStep.COLLECT: (Moment.COLLECTION_COMPLETED,),
    LifecycleStep.ISSUE: (Moment.INVOICE_FINALIZING, Moment.INVOICE_ISSUED),
    LifecycleStep.AUTHORIZE: (Moment.PAYMENT_AUTHORIZED,),
    LifecycleStep.SETTLE: (Moment.PAYMENT_SETTLED,),
    LifecycleStep.FAIL: (Moment.PAYMENT_FAILED,),
    LifecycleStep.MARK_UNCOLLECTIBLE: (Moment.INVOICE_UNCOLLECTIBLE,),
    LifecycleStep.VOID: (Moment.INVOICE_VOIDED,),
    LifecycleStep.DELETE: (Moment.INVOICE_DELETED,),
}


def run_steps(uow: UnitOfWork, invoice: InvoiceRow, transition: Transition, customer: Customer) -> None:
    for step in transition.steps:
        if step == LifecycleStep.COLLECT:
            recalculate(uow, invoice, snapshot=True)
            invoice.collected_at = uow.now
        elif step == LifecycleStep.ISSUE:
            invoice.issued_at = uow.now
            invoice.due_at = add_duration(uow.now, customer.billing_profile.invoicing.due_after)
        elif step == LifecycleStep.DELETE:
            invoice.deleted_at = uow.now
        for moment in STEP_MOMENTS.get(step, ()):
            dispatch(uow, moment, invoice)
        if step == LifecycleStep.COLLECT:
            recalculate(uow, invoice)
    previous = invoice.status
    invoice.status = transition.status.value
    invoice.immutable = is_immutable(invoice.status)
    invoice.updated_at = uow.now
    log.info(
        "billing.invoice.transition",
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        previous=previous,
        status=invoice.status,
        trigger=transition.trigger.value if transition.trigger else None,
        steps=[step.value for step in transition.steps],
    )


def start(uow: UnitOfWork, invoice: InvoiceRow) -> None:
    """Give a freshly created standard invoice its first resting status (collecting at once if due)."""
    context, customer = _context(uow, invoice)
    run_steps(uow, invoice, initial_status(**context), customer)


def fire(uow: UnitOfWork, invoice: InvoiceRow, trigger: str, *, force: bool = False) -> None:
    """Fire ``trigger`` on a standard invoice; ``IllegalTransitionError`` changes nothing."""
    if invoice.kind != "standard":
        raise IllegalTransitionError(
            f"invoice {invoice.id} is a gathering invoice: it has no status machine (trigger {trigger})",
            status=invoice.status,
            trigger=str(trigger),
        )
    context, customer = _context(uow, invoice)
    transition = next_status(invoice.status, trigger, force=force, **context)
    run_steps(uow, invoice, transition, customer)
