"""Sync operations of a scenario: ``sync``, ``sync_and_invoice`` and ``configure``.

``sync`` calls the sync service with the runner's current view (``trigger: automatic`` sets
``skip_custom_currency_subscriptions``, as the periodic job and event handlers do) and records the
plan's text, invoices named ``gathering`` / ``standard[N]``, with the basis fingerprint left out (it
hashes database ids, which differ on every run). An empty plan and a skipped sync record ``null``.
"""

from __future__ import annotations

import re

from patches.render import entry_lines, header_line
from reconciler.settings import SyncSettings
from subsync.scenario.outcome import Outcome
from subsync.scenario.references import ledger_of
from subsync.scenario.steps import ConfigureStep, SyncAndInvoiceStep, SyncStep
from subsync.sync import SyncOptions, SyncService
from subsync.sync.charges_stack import charges_stack, sync_service

_BASIS = re.compile(r" basis=\S+")


def plan_text(plan, names) -> str | None:  # type: ignore[no-untyped-def]
    """The rendered plan for a STATE (None when it is empty)."""
    if plan is None or plan.is_empty:
        return None
    return "\n".join([_BASIS.sub("", header_line(plan)), *entry_lines(plan, names)])


def _service(world) -> SyncService:  # type: ignore[no-untyped-def]
    """A sync service on the world's store with the scenario's current reconciler settings; with
    ``credits: true`` its charges port is the store's charges stack (``subsync.sync.charges_stack``)."""
    settings = SyncSettings(
        credits_enabled=world.settings.credits, credit_then_invoice_enabled=world.settings.credit_then_invoice
    )
    return sync_service(world.store, settings, billing=world.billing)


def _options(*, dry_run: bool, trigger: str) -> SyncOptions:
    return SyncOptions(dry_run=dry_run, skip_custom_currency_subscriptions=trigger == "automatic")


def sync(world, step: SyncStep) -> Outcome:  # type: ignore[no-untyped-def]
    names = ledger_of(world).names
    result = _service(world).sync_by_view(
        world.view, step.as_of or world.clock.now(), _options(dry_run=step.dry_run, trigger=step.trigger)
    )
    return Outcome(plan=plan_text(result.plan, names))


def sync_and_invoice(world, step: SyncAndInvoiceStep) -> Outcome:  # type: ignore[no-untyped-def]
    names = ledger_of(world).names
    result = _service(world).sync_by_view_and_invoice_customer(
        world.view, step.as_of or world.clock.now(), _options(dry_run=False, trigger=step.trigger)
    )
    return Outcome(plan=plan_text(result.plan, names))


def configure(world, step: ConfigureStep) -> Outcome:  # type: ignore[no-untyped-def]
    changes = {name: getattr(step.settings, name) for name in step.settings.model_fields_set}
    changes = {name: value for name, value in changes.items() if value is not None}
    settings = world.settings.model_copy(update=changes)
    if settings.credits:
        charges_stack(world.store)  # the charge line engines from now on, before any invoice step
    return Outcome(settings=settings)
