"""The Celery application: ``celery -A subsync.worker.app worker`` (or ``subsync worker``).

Configured from ``SUBSYNC_*`` environment variables (``subsync.worker.config``) when imported. Without
``SUBSYNC_BROKER_URL`` the module still imports (so the tasks can run eagerly in-process), but a worker
refuses to start: the embedded default is ``subsync reconcile`` in one process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, signals

from subsync.logging import configure_logging
from subsync.worker.config import WorkerSettings, celery_config, load_worker_settings
from subsync.worker.context import reset_context


def configure(instance: Celery, settings: WorkerSettings) -> Celery:
    """Give ``instance`` the fan-out's configuration (before it first connects)."""
    instance.conf.update(celery_config(settings))
    instance.subsync_settings = settings  # type: ignore[attr-defined]
    return instance


def make_app(settings: WorkerSettings | None = None) -> Celery:
    """A Celery app with the fan-out's configuration. The tasks are registered on the module's ``app``;
    another app (a producer with its own broker settings) sends them by name."""
    settings = settings if settings is not None else load_worker_settings()
    return configure(Celery("subsync", include=["subsync.worker.tasks"]), settings)


app = make_app()


@signals.worker_init.connect
def _refuse_without_broker(sender: Any = None, **_: Any) -> None:
    instance = getattr(sender, "app", None)
    settings = getattr(instance, "subsync_settings", None)
    if settings is not None and not settings.broker_configured:
        raise SystemExit("subsync worker: SUBSYNC_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0); "
                         "without a broker, run `subsync reconcile` in-process")


@signals.after_setup_logger.connect
def _structlog_level(loglevel: Any = None, **_: Any) -> None:
    """structlog follows ``SUBSYNC_TASK_LOG_LEVEL``, else the worker's ``--loglevel``."""
    name = logging.getLevelName(loglevel) if isinstance(loglevel, int) else str(loglevel or "WARNING")
    name = getattr(app, "subsync_settings", None) and app.subsync_settings.task_log_level or name
    try:
        configure_logging(name)
    except ValueError:
        configure_logging("WARNING")


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    reset_context(after_fork=True)


@signals.worker_process_shutdown.connect
def _dispose(**_: Any) -> None:
    reset_context()


__all__ = ["app", "configure", "make_app"]
