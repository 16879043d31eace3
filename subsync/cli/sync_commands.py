"""``subsync plan``, ``apply`` and ``check`` (reconciler.md §6.5, §6.6, §7.4; D-11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from subsync.cli.common import (
    EXIT_FAILED,
    EXIT_MALFORMED,
    EXIT_OK,
    AsOfOption,
    CustomersOption,
    DbOption,
    FormatOption,
    NamespaceOption,
    NamespacesOption,
    OutputFormat,
    app,
    cli_errors,
    context,
    fail,
    plan_text,
    service_for,
)


@app.command("plan")
def plan(
    subscription: Annotated[str, typer.Option("--subscription", help="The subscription id.")],
    namespace: NamespaceOption = "default",
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.text,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Also write the JSON plan here, for a later `subsync apply`.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Dry run of one subscription: print what a sync would change. Writes nothing to billing."""
    from patches.render import render_json
    from subsync.sync import SyncOptions

    with cli_errors():
        _url, when, store = context(db, as_of)
        try:
            service = service_for(store)
            result = service.sync_by_id(namespace, subscription, when or store.clock.now(), SyncOptions(dry_run=True))
        finally:
            store.dispose()
        if result.plan is None:
            typer.echo(f"nothing to plan: the customer of subscription {subscription} was deleted before it started",
                       err=True)
            return
        document = render_json(result.plan)
        if out is not None:
            try:
                out.write_text(document + "\n", encoding="utf-8")
            except OSError as exc:
                raise fail(f"cannot write {out}: {exc.strerror}", EXIT_FAILED) from None
        typer.echo(document if output is OutputFormat.json else plan_text(result.plan))
        if out is not None:
            typer.echo(f"plan written to {out}; apply it with `subsync apply {out}`", err=True)


@app.command("apply")
def apply(
    plan_file: Annotated[
        Optional[Path], typer.Argument(help="A plan saved by `subsync plan --out` (omit with --subscription).")
    ] = None,
    subscription: Annotated[
        Optional[str], typer.Option("--subscription", help="Plan and apply this subscription now.")
    ] = None,
    namespace: NamespaceOption = "default",
    as_of: AsOfOption = None,
    invoice: Annotated[bool, typer.Option("--invoice", help="Invoice the customer's pending lines afterwards.")] = False,
    db: DbOption = None,
) -> None:
    """Apply a saved plan (refused with exit 3 if billing changed since), or plan and apply one subscription."""
    from patches.render import load_plan

    if (plan_file is None) == (subscription is None):
        raise fail("give either a PLAN_FILE or --subscription ID", EXIT_MALFORMED)
    with cli_errors():
        stored = None
        if plan_file is not None:
            try:
                text = plan_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise fail(f"ValidationError: cannot read {plan_file}: {exc.strerror}", EXIT_MALFORMED) from None
            stored = load_plan(text)
        _url, when, store = context(db, as_of)
        try:
            service = service_for(store)
            if stored is not None:
                result = service.apply_stored_plan(stored)
                invoices = _invoice_customer(service, stored.namespace, stored.customer_id) if invoice else None
            else:
                sync = service.sync_by_id_and_invoice_customer if invoice else service.sync_by_id
                before = _invoice_ids(service, namespace, subscription) if invoice else set()
                result = sync(namespace, subscription, when or store.clock.now())
                invoices = (sorted(_invoice_ids(service, namespace, subscription) - before) if invoice else None)
        finally:
            store.dispose()
        applied = result.plan
        if applied is None:
            typer.echo(f"nothing applied: the customer of subscription {subscription} was deleted before it started")
            return
        typer.echo(plan_text(applied))
        changes = len(applied.patches) + len(applied.reference_repairs) + len(applied.issue_updates)
        typer.echo(f"applied {changes} change(s) to {applied.namespace}/{applied.subscription_id}"
                   if changes else f"nothing to apply: {applied.namespace}/{applied.subscription_id} is in sync")
        if invoices is not None:
            typer.echo(f"invoiced: {', '.join(invoices)}" if invoices else "invoiced: nothing was due")


def _invoice_ids(service: Any, namespace: str, subscription_id: str) -> set[str]:
    customer = service.subscriptions.resolve(namespace, subscription_id).customer_id
    return {i.id for i in service.billing.list_customer_invoices(namespace, customer) if i.kind == "standard"}


def _invoice_customer(service: Any, namespace: str, customer_id: str) -> list[str]:
    from billing.errors import NothingToInvoiceError

    settings = service.settings
    try:
        invoices = service.billing.invoice_pending_lines(
            namespace, customer_id, force_async_advance=settings.force_async_invoice_pending_lines,
            allow_partial=False, max_lines_per_invoice=settings.max_lines_per_collected_invoice,
        )
    except NothingToInvoiceError:
        return []
    return [invoice.id for invoice in invoices]


@app.command("check")
def check(
    subscription_ids: Annotated[
        Optional[list[str]], typer.Argument(help="Only these subscriptions (default: every one).", show_default=False)
    ] = None,
    customer: CustomersOption = None,
    namespace: NamespacesOption = None,
    as_of: AsOfOption = None,
    output: FormatOption = OutputFormat.text,
    db: DbOption = None,
) -> None:
    """Exit 1 and list the subscriptions whose billing drifted from the subscription; 0 when all are in sync."""
    from patches.render import render_json
    from subsync.job.check import check_subscriptions

    with cli_errors():
        _url, when, store = context(db, as_of)
        try:
            result = check_subscriptions(
                service_for(store), store, ids=subscription_ids or None, customers=customer or None,
                namespaces=namespace or None, as_of=when or store.clock.now(),
            )
        finally:
            store.dispose()
    if output is OutputFormat.json:
        typer.echo(json.dumps({
            "as_of": result.as_of.isoformat().replace("+00:00", "Z"),
            "checked": result.checked,
            "in_sync": result.in_sync,
            "skipped": result.skipped,
            "pending": [json.loads(render_json(plan)) for plan in result.pending],
            "failed": [failure.as_dict() for failure in result.failures],
        }, indent=2))
    else:
        for plan_ in result.pending:
            typer.echo(plan_text(plan_))
            typer.echo("")
        for failure in result.failures:
            typer.echo(f"failed: {failure.namespace}/{failure.subscription_id}: {failure.category}: {failure.message}")
        typer.echo(result.summary_line())
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED)
