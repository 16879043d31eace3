"""Configuration of the Celery fan-out: ``SUBSYNC_*`` environment variables → Celery settings.

| variable | default | meaning |
|---|---|---|
| ``SUBSYNC_BROKER_URL`` | unset | the broker (``redis://127.0.0.1:6379/0`` or ``amqp://guest:guest@127.0.0.1:5672//``); unset means the embedded default: ``subsync reconcile`` runs in-process and ``subsync enqueue``/``worker`` refuse to start |
| ``SUBSYNC_RESULT_BACKEND`` | the broker URL for a Redis broker, else none | where task results (per-customer outcomes, failures) are kept |
| ``SUBSYNC_QUEUE`` | ``subsync`` | the queue tasks are sent to and workers consume by default |
| ``SUBSYNC_DATABASE_URL`` | ``sqlite:///subsync.db`` | the billing store (shared with every other command) |
| ``SUBSYNC_LOCK_TIMEOUT`` | ``30s`` | PostgreSQL ``lock_timeout`` of worker connections: a customer lock not had by then is a transient error (retried) |
| ``SUBSYNC_TASK_MAX_RETRIES`` | ``8`` | retries of a task after transient errors |
| ``SUBSYNC_RETRY_BACKOFF`` / ``SUBSYNC_RETRY_BACKOFF_MAX`` | ``2s`` / ``10m`` | first retry delay, doubled on every retry up to the maximum (with jitter) |
| ``SUBSYNC_VISIBILITY_TIMEOUT`` | ``1h`` | Redis: a message taken by a worker that vanished without a trace is delivered again after this |
| ``SUBSYNC_BEAT_INTERVAL`` | ``1h`` | how often ``celery beat`` (or ``subsync worker --beat``) enqueues the due customers |
| ``SUBSYNC_TASK_LOG_LEVEL`` | the worker's ``--loglevel`` | level of the tasks' JSON (structlog) events, e.g. ``WARNING`` to keep only failures |

Durations take the forms of ``subsync.settings.parse_duration`` (``90s``, ``30m``, ``24h``, ``PT1H``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from billing.store import DEFAULT_URL
from subsync.settings import ENV_PREFIX, SettingsError, parse_duration

DEFAULT_QUEUE = "subsync"

#: Task names (what a producer sends; the worker registers them in ``subsync.worker.tasks``).
RECONCILE_CUSTOMER = "subsync.reconcile_customer"
ENQUEUE_DUE_CUSTOMERS = "subsync.enqueue_due_customers"
INVOICE_CUSTOMER = "subsync.invoice_customer"


class WorkerSettings(BaseSettings):
    """The fan-out's settings; ``load_worker_settings()`` reads them from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    broker_url: str | None = None
    result_backend: str | None = None
    queue: str = Field(default=DEFAULT_QUEUE, min_length=1)
    database_url: str = DEFAULT_URL
    lock_timeout: str = "30s"
    task_max_retries: int = Field(default=8, ge=0)
    retry_backoff: str = "2s"
    retry_backoff_max: str = "10m"
    visibility_timeout: str = "1h"
    beat_interval: str = "1h"
    task_log_level: str | None = None

    @field_validator("lock_timeout", "retry_backoff", "retry_backoff_max", "visibility_timeout", "beat_interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            parsed = parse_duration(value, field="duration")
        except SettingsError as exc:
            raise ValueError(str(exc).removeprefix("duration: ")) from None
        if parsed <= dt.timedelta(0):
            raise ValueError(f"must be positive, got {value!r}")
        return value

    @field_validator("broker_url", "result_backend")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    # -- parsed values ---------------------------------------------------------------------------------
    @property
    def broker_configured(self) -> bool:
        return self.broker_url is not None

    def seconds(self, name: str) -> float:
        """A duration setting (``lock_timeout``, ``retry_backoff``…) in seconds."""
        return parse_duration(getattr(self, name), field=f"{ENV_PREFIX}{name.upper()}").total_seconds()

    @property
    def effective_result_backend(self) -> str | None:
        """The configured result backend; for a Redis broker, the broker itself when none is set."""
        if self.result_backend is not None:
            return self.result_backend
        if self.broker_url is not None and self.broker_url.split(":", 1)[0] in ("redis", "rediss"):
            return self.broker_url
        return None

    def display_broker(self) -> str:
        if self.broker_url is None:
            return "(none)"
        try:
            return make_url(self.broker_url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - amqp URLs with an empty path are not SQLAlchemy URLs
            return self.broker_url.split("@")[-1]


def load_worker_settings(**overrides: Any) -> WorkerSettings:
    """The settings from the environment, with non-None ``overrides`` on top; ``SettingsError`` names
    the offending variable."""
    values = {key: value for key, value in overrides.items() if value is not None}
    try:
        return WorkerSettings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{str(error['loc'][0]).upper()}: {error['msg']}" if error["loc"] else error["msg"]
            for error in exc.errors(include_url=False)
        )
        raise SettingsError(problems) from None


def celery_config(settings: WorkerSettings) -> dict[str, Any]:
    """The Celery settings of the fan-out (docs/workers.md explains each choice)."""
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.effective_result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_default_queue": settings.queue,
        # A task is acknowledged only once it has finished; a worker that dies mid-task leaves its
        # message to be delivered again (the tasks are idempotent: a second delivery re-syncs).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One reserved message per process: long per-customer tasks are shared out fairly, and a
        # killed process takes at most one message back to the queue.
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": int(settings.seconds("visibility_timeout"))},
        "result_expires": 24 * 3600,
        "task_track_started": True,
        "beat_schedule": {
            "subsync-enqueue-due-customers": {
                "task": ENQUEUE_DUE_CUSTOMERS,
                "schedule": settings.seconds("beat_interval"),
                "options": {"queue": settings.queue},
            },
        },
    }


__all__ = [
    "DEFAULT_QUEUE",
    "ENQUEUE_DUE_CUSTOMERS",
    "INVOICE_CUSTOMER",
    "RECONCILE_CUSTOMER",
    "WorkerSettings",
    "celery_config",
    "load_worker_settings",
]
