"""``subsync reconcile``: the periodic job (reconciler.md §7), its summary and progress bar."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any, Optional

import structlog
import typer
from rich.console import Console

from subsync.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    AsOfOption,
    CustomersOption,
    DbOption,
    FormatOption,
    NamespacesOption,
    OutputFormat,
    app,
    cli_errors,
    context,
)


@app.command("reconcile")
def reconcile(
    as_of: AsOfOption = None,
    customer: CustomersOption = None,
    namespace: NamespacesOption = None,
    lookback: Annotated[
        Optional[str],
        typer.Option("--lookback", "-l", help="How far back a subscription may have been active: 90s, 30m, 24h, 7d "
                     "or PT24H (default: $SUBSYNC_RECONCILE_DEFAULT_LOOKBACK, else 24h).", show_default=False),
    ] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Sync at most N subscriptions.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Sync every listed subscription, due or not.")] = False,
    invoice: Annotated[bool, typer.Option("--invoice", help="Invoice pending lines of the synced customers.")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="Only list the subscriptions a run would sync.")] = False,
    output: FormatOption = OutputFormat.text,
    db: DbOption = None,
) -> None:
    """The periodic job: sync every due subscription; one failure never stops the run (exit 1 if any failed)."""
    from subsync.job import ReconcileJob
    from subsync.settings import SettingsError, parse_duration, sync_settings

    with cli_errors():
        window = parse_duration(lookback, field="--lookback") if lookback is not None else None
        if window is not None and window.total_seconds() <= 0:
            raise SettingsError(f"--lookback: must be positive, got {lookback!r}")
        _url, _when, store = context(db, as_of)
        try:
            job = ReconcileJob.for_store(store, settings=sync_settings())
            filters = {"namespaces": namespace or None, "customers": customer or None, "lookback": window}
            if list_only:
                _print_selected(list(job.selected(**filters, force=force, limit=limit)), output)
                return
            with _progress_display(enabled=output is OutputFormat.text and sys.stderr.isatty()) as progress:
                report = job.run(**filters, force=force, limit=limit, invoice=invoice, progress=progress)
        finally:
            store.dispose()
    if output is OutputFormat.json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for failure in report.failures:
            who = failure.subscription_id or f"customer {failure.customer_id}"
            typer.echo(f"failed: {failure.namespace}/{who} ({failure.stage}): {failure.category}: {failure.message}")
        if report.invoices:
            typer.echo(f"invoiced: {len(report.invoices)} invoice(s)")
        typer.echo(report.summary_line())
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAILED)


def _print_selected(selected: list[Any], output: OutputFormat) -> None:
    def instant(value: Any) -> str:
        return value.isoformat().replace("+00:00", "Z")

    if output is OutputFormat.json:
        typer.echo(json.dumps([
            {"namespace": s.namespace, "id": s.subscription_id, "customer_id": s.customer_id,
             "active_from": instant(s.active_from), "active_to": instant(s.active_to) if s.active_to else None,
             "deleted": s.deleted}
            for s in selected
        ], indent=2))
        return
    for s in selected:
        fields = [s.subscription_id, s.customer_id, instant(s.active_from)]
        if s.active_to is not None:
            fields.append(instant(s.active_to))
        typer.echo("  ".join(fields) + ("  (deleted)" if s.deleted else ""))


@contextlib.contextmanager
def _progress_display(*, enabled: bool) -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("reconciling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[failed]} failed"))
    with Progress(*columns, console=console, transient=True) as bar:
        # Logs go through the live display instead of tearing the bar.
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))
        task = bar.add_task("reconcile", total=0, failed=0)

        class _Bar:
            failed = 0

            def due(self, count: int) -> None:
                bar.update(task, total=(bar.tasks[0].total or 0) + count)

            def done(self, listed: Any, outcome: Any) -> None:
                if outcome.value == "failed":
                    self.failed += 1
                bar.update(task, advance=1, failed=self.failed)

        try:
            yield _Bar()
        finally:
            structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__))
