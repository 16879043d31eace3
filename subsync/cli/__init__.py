"""The ``subsync`` command line (reconciler.md §7.4, scenario-format §5).

Every command that touches billing opens the store named by ``--db`` or ``SUBSYNC_DATABASE_URL``
(default ``sqlite:///subsync.db``) and builds ``SyncSettings`` from the environment
(``subsync.settings``). ``--as-of T`` runs a command as if the clock read ``T``.

Exit codes: 0 success, 1 failures or pending changes, 2 malformed input, 3 stale plan. An error is
one line on stderr, ``error: <category>: <message>`` with the category of ``subsync.errors``; never
a traceback (``--log-level DEBUG`` logs it as JSON for a bug report).

Modules: ``common`` (the app, shared options, error handling), ``sync_commands`` (plan, apply,
check), ``job_commands`` (reconcile), ``other_commands`` (targets, scenario run, subscriptions
import, db upgrade, demo); ``subsync.worker.commands`` adds ``worker`` and ``enqueue``.
"""

from __future__ import annotations

import typer

from subsync.cli import sync_commands, job_commands, other_commands  # noqa: F401, I001 - registration order = help order
from subsync.worker import commands as worker_commands  # noqa: F401 - subsync worker / enqueue (Celery fan-out)
from subsync.cli.common import EXIT_FAILED, app, log, one_line
from subsync.cli_credits import charges_app, credits_app  # noqa: I001 - subsync credits / charges (issue 6)

app.add_typer(credits_app, name="credits")
app.add_typer(charges_app, name="charges")


def main() -> None:
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - a bug outside a command's own handler (e.g. a broken install)
        log.debug("cli.internal_error", exc_info=exc)
        typer.echo(f"error: internal error: {type(exc).__name__}: {one_line(str(exc))}"
                   " (rerun with --log-level DEBUG for details)", err=True)
        raise SystemExit(EXIT_FAILED) from None


__all__ = ["app", "main"]
