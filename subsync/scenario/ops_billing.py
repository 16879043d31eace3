"""Billing operations of a scenario: invoicing, the invoice lifecycle, line edits, usage, customers.

Each handler runs inside the step's unit of work and calls ``billing.service.BillingService``; invoices
and lines are found through ``subsync.scenario.references`` (never by database id).
"""

from __future__ import annotations

from collections import defaultdict

from billing.charges.api import route_manual_flat_fees
from billing.lines import NewLine
from billing.operations.line_edits import LineEdit
from billing.usage import NewUsageEvent
from subsync.scenario.errors import DuplicateLineKeyError, ScenarioError
from subsync.scenario.outcome import Outcome
from subsync.scenario.references import SCENARIO_LINE_KEY, ledger_of
from subsync.scenario.steps import (
    AdvanceInvoiceStep,
    ApproveInvoiceStep,
    CreateLineStep,
    DeleteCustomerStep,
    DeleteInvoiceStep,
    DeleteLineStep,
    EditLineStep,
    InvoicePendingStep,
    PaymentStep,
    UsageStep,
    VoidInvoiceStep,
)


def invoice_pending(world, step: InvoicePendingStep) -> Outcome:  # type: ignore[no-untyped-def]
    world.billing.invoice_pending_lines(
        world.namespace, world.customer_id, as_of=step.as_of or world.clock.now(), progressive=step.progressive
    )
    return Outcome()


def advance_invoice(world, step: AdvanceInvoiceStep) -> Outcome:  # type: ignore[no-untyped-def]
    invoice = ledger_of(world).resolve(step.invoice)
    world.billing.advance_invoice(world.namespace, invoice.id)
    return Outcome()


def approve_invoice(world, step: ApproveInvoiceStep) -> Outcome:  # type: ignore[no-untyped-def]
    invoice = ledger_of(world).resolve(step.invoice)
    world.billing.approve_invoice(world.namespace, invoice.id)
    return Outcome()


def payment(world, step: PaymentStep) -> Outcome:  # type: ignore[no-untyped-def]
    invoice = ledger_of(world).resolve(step.invoice)
    world.billing.payment_event(world.namespace, invoice.id, step.event)
    return Outcome()


def void_invoice(world, step: VoidInvoiceStep) -> Outcome:  # type: ignore[no-untyped-def]
    invoice = ledger_of(world).resolve(step.invoice)
    world.billing.void_invoice(world.namespace, invoice.id)
    return Outcome()


def delete_invoice(world, step: DeleteInvoiceStep) -> Outcome:  # type: ignore[no-untyped-def]
    invoice = ledger_of(world).resolve(step.invoice)
    world.billing.delete_invoice(world.namespace, invoice.id, source=step.source)
    return Outcome()


def create_line(world, step: CreateLineStep) -> Outcome:  # type: ignore[no-untyped-def]
    ledger = ledger_of(world)
    taken = {line.metadata.get(SCENARIO_LINE_KEY) for invoice in ledger.invoices for line in invoice.lines or ()}
    if step.key in taken:
        raise DuplicateLineKeyError(f"create_line: key {step.key!r} is already used by line manual/{step.key}")
    spec = step.line
    invoice_at = spec.invoice_at
    if invoice_at is None:
        in_advance = spec.price.type == "flat" and spec.price.payment_term == "in_advance"
        invoice_at = spec.service_period.start if in_advance else spec.service_period.end
    line = NewLine(
        name=spec.name,
        description=spec.description,
        managed_by="manual" if step.source == "api" else "system",
        annotations=dict(spec.annotations),
        metadata={SCENARIO_LINE_KEY: step.key},
        service_period=spec.service_period,
        invoice_at=invoice_at,
        price=spec.price,
        per_unit_amount=spec.per_unit_amount,
        quantity=spec.quantity,
        feature_key=spec.feature,
        rate_card_discounts=spec.discounts,
        tax_config=spec.tax,
    )
    # With credits routed to charges, an API flat line becomes a manual flat-fee charge (charges.md §3.6).
    route_manual_flat_fees(world.store, world.settings.credits and world.settings.credit_then_invoice)
    if step.invoice.kind == "gathering":
        # A gathering invoice is created on demand: adding a pending line is how one comes to exist.
        world.billing.create_pending_line(world.namespace, world.customer_id, world.currency, line, source=step.source)
    else:
        world.billing.create_line(world.namespace, ledger.resolve(step.invoice).id, line, source=step.source)
    return Outcome()


#: ``edit_line.set`` names → ``LineEdit`` fields.
_EDIT_FIELDS = {"discounts": "rate_card_discounts", "tax": "tax_config"}


def edit_line(world, step: EditLineStep) -> Outcome:  # type: ignore[no-untyped-def]
    ledger = ledger_of(world)
    invoice = ledger.resolve(step.invoice)
    line = ledger.live_line(invoice, step.line)
    changes = {_EDIT_FIELDS.get(name, name): getattr(step.set, name) for name in step.set.model_fields_set}
    world.billing.edit_line(world.namespace, invoice.id, line.id, LineEdit(**changes), source=step.source)
    return Outcome()


def delete_line(world, step: DeleteLineStep) -> Outcome:  # type: ignore[no-untyped-def]
    ledger = ledger_of(world)
    invoice = ledger.resolve(step.invoice)
    line = ledger.live_line(invoice, step.line)
    world.billing.delete_line(world.namespace, invoice.id, line.id, source=step.source)
    return Outcome()


def usage(world, step: UsageStep) -> Outcome:  # type: ignore[no-untyped-def]
    default_meter = world.scenario.meters[0].key if world.scenario.meters else None
    by_meter: dict[str, list[NewUsageEvent]] = defaultdict(list)
    for event in step.events:
        meter = event.meter or default_meter
        if meter is None:
            raise ScenarioError("usage: the scenario declares no meter; name one on the event")
        by_meter[meter].append(NewUsageEvent(time=event.time, value=event.value))
    for meter, events in by_meter.items():
        world.billing.ingest_usage(world.namespace, world.customer_id, meter, events)
    return Outcome()


def delete_customer(world, step: DeleteCustomerStep) -> Outcome:  # type: ignore[no-untyped-def]
    world.billing.delete_customer(world.namespace, world.customer_id)
    return Outcome()
