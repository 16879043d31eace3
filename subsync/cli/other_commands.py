"""``subsync targets``, ``scenario run``, ``subscriptions import``, ``db upgrade`` and ``demo``."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from subsync.cli.common import (
    DbOption,
    FormatOption,
    OutputFormat,
    app,
    cli_errors,
    colour,
    context,
    db_app,
    scenario_app,
    subscriptions_app,
)


class TargetsFormat(str, Enum):
    table = "table"
    json = "json"


@app.command("targets")
def targets(
    file: Annotated[Path, typer.Argument(help="A setup or scenario file (YAML); its steps are ignored.")],
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="RFC 3339 instant to build at (default: the file's clock).")
    ] = None,
    output: Annotated[TargetsFormat, typer.Option("--format", help="table or json.")] = TargetsFormat.table,
) -> None:
    """Show the target items a subscription file will bill: periods, invoice-at and amount."""
    from subscriptions.errors import SubscriptionError
    from subsync import render_targets
    from subsync.targets import targets_of_file
    from targetstate import TargetStateError

    try:
        results = targets_of_file(file, as_of)
    except SubscriptionError as exc:
        typer.echo(f"error: {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    except TargetStateError as exc:
        typer.echo(f"error: {file}: cannot build the target state: {exc}", err=True)
        raise typer.Exit(1) from None
    if output is TargetsFormat.json:
        typer.echo(render_targets.render_json(render_targets.targets_document(r.state) for r in results))
        return
    # Piped output is not cut to a terminal's width: every row stays on one line.
    console = Console(width=None if sys.stdout.isatty() else 400)
    for result in results:
        render_targets.render_table(console, result.view, result.state, result.as_of)



@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="A scenario file (scenario-format.md).")],
    step: Annotated[Optional[int], typer.Option("--step", min=0, help="Stop after step N (0-based).")] = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Run a scenario on a fresh in-memory store: the state and plan after each step (exit 1 if an expect fails)."""
    from subsync.scenario import exit_code, render_json, render_text, run_scenario

    with cli_errors():  # a malformed file raises ScenarioFormatError: "error: ValidationError: …", exit 2
        result = run_scenario(file, step=step)
    typer.echo(render_json(result) if output is OutputFormat.json else render_text(result))
    raise typer.Exit(exit_code(result))


@subscriptions_app.command("import")
def subscriptions_import(
    file: Annotated[Path, typer.Argument(help="A setup file: one setup, or a list under `setups:`.")],
    db: DbOption = None,
) -> None:
    """Load the subscriptions (with their customers and meters) of a setup file into the store."""
    from subsync.job.importing import import_file

    with cli_errors():
        _url, _when, store = context(db, None)
        try:
            imported = import_file(store, file)
        finally:
            store.dispose()
    for item in imported:
        sub = item.subscription
        until = f" until {sub.active_to.isoformat().replace('+00:00', 'Z')}" if sub.active_to else ""
        typer.echo(
            f"{'imported' if item.subscription_created else 'updated'} subscription {sub.id}"
            f" (customer {sub.customer_id}{', new' if item.customer_created else ''}; plan {sub.plan_key};"
            f" active from {sub.active_from.isoformat().replace('+00:00', 'Z')}{until})"
        )
    typer.echo(f"{len(imported)} subscription(s) in {file}; run `subsync reconcile` to bill them")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or migrate the billing schema to this subsync's revision."""
    from subsync.settings import SystemClock, display_url, open_store, schema_revisions

    with cli_errors():
        from subsync.settings import database_url

        url = database_url(db)
        store = open_store(url, SystemClock(), require_schema=False, create=True)
        try:
            before, _heads = schema_revisions(store)
            store.upgrade()
            after, _heads = schema_revisions(store)
        finally:
            store.dispose()
    if before == after:
        typer.echo(f"{display_url(url)} is up to date (revision {after})")
    else:
        typer.echo(f"{display_url(url)} upgraded from revision {before or '(empty)'} to {after}")


@app.command("demo")
def demo(db: DbOption = None) -> None:
    """Create a demo database with a few customers and subscriptions, reconcile it, and show what happened."""
    from subsync.demo import run_demo

    with cli_errors():
        from subsync.settings import database_url

        code = run_demo(database_url(db), echo=typer.echo, colour=colour())
    raise typer.Exit(code)
