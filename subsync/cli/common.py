"""The ``subsync`` application object, shared options, error handling and store/service helpers.

Every error becomes one line on stderr, ``error: <category>: <message>`` (category from
``subsync.errors``), with the exit codes of reconciler.md §7.4: 0 success, 1 failures or pending
changes, 2 malformed input, 3 stale plan. Never a traceback (``--log-level DEBUG`` logs it as JSON).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from enum import Enum
from typing import Annotated, Any, Optional

import structlog
import typer

from subsync import __version__
from subsync.logging import configure_logging

log = structlog.get_logger("subsync.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_MALFORMED = 2
EXIT_STALE = 3
_EXIT_BY_CATEGORY = {"ValidationError": EXIT_MALFORMED, "StalePlanError": EXIT_STALE}

app = typer.Typer(
    name="subsync",
    help="Reconcile what billing holds with what customers are subscribed to.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
scenario_app = typer.Typer(help="Scenario files: test clocks for subscription sync.", no_args_is_help=True)
subscriptions_app = typer.Typer(help="Subscriptions kept in the store (the job's source of truth).",
                                no_args_is_help=True)
db_app = typer.Typer(help="The billing database.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(db_app, name="db")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"subsync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="JSON log level on stderr.")] = "WARNING",
) -> None:
    configure_logging(log_level)


# -- shared options and helpers ---------------------------------------------------------------------

class OutputFormat(str, Enum):
    text = "text"
    json = "json"


DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Database URL (default: $SUBSYNC_DATABASE_URL, else sqlite:///subsync.db).",
                 show_default=False),
]
AsOfOption = Annotated[
    Optional[str],
    typer.Option("--as-of", help="RFC 3339 instant to run at, e.g. 2024-02-01T00:00:00Z (default: now).",
                 show_default=False),
]
NamespaceOption = Annotated[str, typer.Option("--namespace", help="The subscription's namespace.")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="text or json.")]
CustomersOption = Annotated[
    Optional[list[str]],
    typer.Option("--customer", "-c", help="Only this customer (repeatable).", show_default=False),
]
NamespacesOption = Annotated[
    Optional[list[str]],
    typer.Option("--namespace", help="Only this namespace (repeatable; default: all).", show_default=False),
]


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn every error into one line on stderr and the exit code of reconciler.md §7.4."""
    from sqlalchemy.exc import DBAPIError

    from subsync.errors import describe_error
    from subsync.settings import SchemaError

    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except SchemaError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    except DBAPIError as exc:
        raise fail(f"cannot use the database: {exc.orig}", EXIT_FAILED) from None
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback
        described = describe_error(exc)
        if described is None:
            log.debug("cli.internal_error", exc_info=exc)
            raise fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --log-level DEBUG for details)",
                        EXIT_FAILED) from None
        raise fail(f"{described['type']}: {described['message']}",
                    _EXIT_BY_CATEGORY.get(described["type"], EXIT_FAILED)) from None


def colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def context(db: str | None, as_of: str | None, *, require_schema: bool = True, create: bool = False) -> Any:
    """(url, as_of, store) for a command; the store's clock reads ``as_of`` when given."""
    from subsync.settings import clock_for, database_url, open_store, parse_as_of

    url = database_url(db)
    when = parse_as_of(as_of)
    store = open_store(url, clock_for(when), require_schema=require_schema, create=create)
    return url, when, store


def service_for(store: Any) -> Any:
    """The sync service on ``store`` with the environment's settings (and the charges port when
    ``SUBSYNC_CREDITS_ENABLED``)."""
    from subsync.settings import sync_settings
    from subsync.sync.charges_stack import sync_service

    return sync_service(store, settings=sync_settings())


def plan_text(plan: Any) -> str:
    from patches.render import render_text

    return render_text(plan, colour=colour())

