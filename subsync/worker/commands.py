"""``subsync worker`` and ``subsync enqueue``: the command-line side of the Celery fan-out.

Importing this module registers both commands on the ``subsync`` application (``subsync.cli`` imports
it). Celery is imported only when one of them runs, so the other commands start as fast as before.
Errors follow the CLI's rules (one ``error:`` line on stderr, exit 1 or 2, never a traceback).
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, Optional

import typer

from subsync.cli.common import EXIT_FAILED, EXIT_MALFORMED, app, cli_errors, context, fail

DEFAULT_CONCURRENCY = 2


def _broker_settings(broker: str | None, queue: str | None) -> Any:
    from subsync.settings import SettingsError
    from subsync.worker.config import load_worker_settings

    settings = load_worker_settings(broker_url=broker, queue=queue)
    if not settings.broker_configured:
        raise SettingsError("no broker configured: set SUBSYNC_BROKER_URL (e.g. redis://127.0.0.1:6379/0) or pass "
                            "--broker; without a broker, `subsync reconcile` runs the job in-process")
    return settings


def _reachable(app: Any, settings: Any) -> None:
    """Fail fast, with the broker named, when it does not answer."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5, timeout=5)
    except Exception as exc:  # noqa: BLE001 - kombu raises several kinds for an unreachable broker
        raise fail(f"cannot reach the broker {settings.display_broker()}: {exc}", EXIT_FAILED) from None


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1,
                                             help="Worker processes (the prefork pool).")] = DEFAULT_CONCURRENCY,
    queues: Annotated[
        Optional[list[str]],
        typer.Option("--queue", "-Q", help="Consume this queue (repeatable; default: $SUBSYNC_QUEUE, else subsync).",
                     show_default=False),
    ] = None,
    log_level: Annotated[str, typer.Option("--loglevel", "-l", help="Log level of the worker and its tasks.")] = "INFO",
    beat: Annotated[bool, typer.Option("--beat", help="Also run the scheduler that enqueues the due customers every "
                                       "$SUBSYNC_BEAT_INTERVAL (run it in exactly one worker).")] = False,
    hostname: Annotated[Optional[str], typer.Option("--hostname", "-n", help="Node name, e.g. sync1@%h.",
                                                    show_default=False)] = None,
    broker: Annotated[Optional[str], typer.Option("--broker", help="Broker URL (default: $SUBSYNC_BROKER_URL).",
                                                  show_default=False)] = None,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: $SUBSYNC_DATABASE_URL, else "
                                              "sqlite:///subsync.db).", show_default=False)] = None,
) -> None:
    """Start a Celery worker that reconciles customers from the queue (see `subsync enqueue`)."""
    from subsync.settings import SystemClock, database_url, open_store

    with cli_errors():
        settings = _broker_settings(broker, queues[0] if queues else None)
        url = database_url(db)
        open_store(url, SystemClock()).dispose()  # the schema must be there before a task needs it
        # Worker processes read their configuration from the environment (they may be forked or spawned).
        os.environ.update({"SUBSYNC_BROKER_URL": settings.broker_url, "SUBSYNC_DATABASE_URL": url,
                           "SUBSYNC_QUEUE": settings.queue})
        from subsync.worker.app import app, configure

        configure(app, settings)
        _reachable(app, settings)
    argv = ["worker", f"--concurrency={concurrency}", f"--loglevel={log_level.upper()}",
            f"--queues={','.join(queues or [settings.queue])}"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    if beat:
        argv.append("--beat")
    app.worker_main(argv)


@app.command("enqueue")
def enqueue(
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="RFC 3339 instant the tasks sync at (default: each "
                                                 "task's wall clock).", show_default=False)] = None,
    customer: Annotated[Optional[list[str]], typer.Option("--customer", "-c", help="Only this customer (repeatable).",
                                                          show_default=False)] = None,
    namespace: Annotated[Optional[list[str]], typer.Option("--namespace", help="Only this namespace (repeatable).",
                                                           show_default=False)] = None,
    lookback: Annotated[Optional[str], typer.Option("--lookback", "-l", help="How far back a subscription may have "
                                                    "been active (default: 24h).", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most N subscriptions.")] = None,
    all_: Annotated[bool, typer.Option("--all", "--force", "-f", help="Every listed subscription, due or not "
                                       "(like `subsync reconcile --force`).")] = False,
    invoice: Annotated[bool, typer.Option("--invoice", help="Each task invoices its customer's pending lines "
                                          "afterwards.")] = False,
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    broker: Annotated[Optional[str], typer.Option("--broker", help="Broker URL (default: $SUBSYNC_BROKER_URL).",
                                                  show_default=False)] = None,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: $SUBSYNC_DATABASE_URL).",
                                              show_default=False)] = None,
) -> None:
    """Send one reconcile task per customer with due subscriptions (the selection of `subsync reconcile`)."""
    from subsync.settings import SettingsError, parse_duration, sync_settings

    if output not in ("text", "json"):
        raise fail(f"--format: expected text or json, got {output!r}", EXIT_MALFORMED)
    with cli_errors():
        settings = _broker_settings(broker, None)
        window = parse_duration(lookback, field="--lookback") if lookback is not None else None
        if window is not None and window.total_seconds() <= 0:
            raise SettingsError(f"--lookback: must be positive, got {lookback!r}")
        from subsync.worker.app import make_app
        from subsync.worker.enqueue import enqueue_due, sender

        app = make_app(settings)
        _reachable(app, settings)
        _url, when, store = context(db, as_of)
        try:
            summary = enqueue_due(
                store, send=sender(app, settings.queue), settings=sync_settings(), namespaces=namespace or None,
                customers=customer or None, lookback=window, force=all_, limit=limit, as_of=when, invoice=invoice,
            )
        finally:
            store.dispose()
    if output == "json":
        typer.echo(json.dumps(summary.as_dict(with_task_ids=True), indent=2))
    else:
        typer.echo(f"{summary.summary_line()} on queue {settings.queue} via {settings.display_broker()}")


__all__ = ["enqueue", "worker"]
