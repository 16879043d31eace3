"""Run-time configuration of the application: database URL, sync settings, durations, clocks.

Sources, strongest first: command-line flags, then environment variables (``SUBSYNC_…``), then the
defaults of reconciler.md §8.1. ``SUBSYNC_DATABASE_URL`` names the billing store (default
``sqlite:///subsync.db``; PostgreSQL by a ``postgresql+psycopg://…`` URL). Every ``SyncSettings``
field can be set by its upper-case name with the ``SUBSYNC_`` prefix, e.g. ``SUBSYNC_CREDITS_ENABLED=true``
or ``SUBSYNC_RECONCILE_DEFAULT_LOOKBACK=7d``.

Durations accept a number with a unit (``90s``, ``30m``, ``24h``, ``7d``, ``2w``, ``1h30m``; parsed by
pytimeparse2) or ISO 8601 (``PT24H``, ``P1D``; parsed by isodate). Calendar months and years have no
fixed length and are refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pathlib import Path

import isodate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pytimeparse2 import parse as parse_time_expression

from sqlalchemy.engine import make_url

from billing.clock import FrozenClock
from billing.store import DEFAULT_URL, Store
from billing.store.migrate import alembic_config
from reconciler.settings import SyncSettings
from subscriptions.errors import SubscriptionValidationError
from subscriptions.validation import parse_instant

ENV_PREFIX = "SUBSYNC_"
DATABASE_URL_ENV = "SUBSYNC_DATABASE_URL"


class SettingsError(ValueError):
    """A flag or environment variable has a value subsync cannot use (the message names it)."""


def parse_duration(text: str, *, field: str = "duration") -> dt.timedelta:
    """``90s``, ``30m``, ``24h``, ``7d`` or ISO 8601 ``PT24H`` as a ``timedelta``.

    Raises ``SettingsError`` naming ``field`` for anything else (months and years included).
    """
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{field}: expected a duration such as 90s, 30m, 24h, 7d or PT24H, got {text!r}")
    if value.lstrip("+-").upper().startswith("P"):
        try:
            parsed = isodate.parse_duration(value.upper())
        except (isodate.ISO8601Error, ValueError) as exc:
            raise SettingsError(f"{field}: {text!r} is not an ISO 8601 duration") from exc
        if isinstance(parsed, isodate.Duration):
            if parsed.years or parsed.months:
                raise SettingsError(f"{field}: {text!r} has months or years, which have no fixed length")
            parsed = parsed.tdelta
        return parsed
    seconds = parse_time_expression(value)
    if seconds is None or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise SettingsError(f"{field}: expected a duration such as 90s, 30m, 24h, 7d or PT24H, got {text!r}")
    return dt.timedelta(seconds=seconds)


def format_duration(value: dt.timedelta) -> str:
    """The shortest of ``7d``, ``24h``, ``30m``, ``90s`` that states ``value`` exactly."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_as_of(text: str | None, *, field: str = "--as-of") -> dt.datetime | None:
    """An RFC 3339 instant with an offset (``2024-02-01T00:00:00Z``), in UTC; None stays None."""
    if text is None:
        return None
    try:
        return parse_instant(text.strip(), field=field)
    except SubscriptionValidationError as exc:
        raise SettingsError(str(exc)) from None


class _Environment(BaseSettings):
    """``SUBSYNC_*`` environment variables (flags override them)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = DEFAULT_URL
    credits_enabled: bool = False
    credit_then_invoice_enabled: bool = True
    force_async_invoice_pending_lines: bool = False
    max_lines_per_collected_invoice: int | None = Field(default=None, gt=0)
    lockdown_namespaces: str = ""
    reconcile_page_size: int = Field(default=10_000, gt=0)
    reconcile_default_lookback: str = "24h"

    @field_validator("reconcile_default_lookback")
    @classmethod
    def _lookback(cls, value: str) -> str:
        parse_duration(value, field="SUBSYNC_RECONCILE_DEFAULT_LOOKBACK")
        return value


def _environment() -> _Environment:
    try:
        return _Environment()
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{str(error['loc'][0]).upper()}: {error['msg']}" if error["loc"] else error["msg"]
            for error in exc.errors(include_url=False)
        )
        raise SettingsError(problems) from None


def database_url(flag: str | None = None) -> str:
    """``--db`` if given, else ``SUBSYNC_DATABASE_URL``, else ``sqlite:///subsync.db``."""
    if flag:
        return flag
    return _environment().database_url or DEFAULT_URL


def sync_settings(**flags: Any) -> SyncSettings:
    """``SyncSettings`` from the environment, with ``flags`` (non-None values only) on top."""
    env = _environment()
    values: dict[str, Any] = {
        "credits_enabled": env.credits_enabled,
        "credit_then_invoice_enabled": env.credit_then_invoice_enabled,
        "force_async_invoice_pending_lines": env.force_async_invoice_pending_lines,
        "max_lines_per_collected_invoice": env.max_lines_per_collected_invoice,
        "lockdown_namespaces": frozenset(ns.strip() for ns in env.lockdown_namespaces.split(",") if ns.strip()),
        "reconcile_page_size": env.reconcile_page_size,
        "reconcile_default_lookback": parse_duration(
            env.reconcile_default_lookback, field="SUBSYNC_RECONCILE_DEFAULT_LOOKBACK"
        ),
    }
    values.update({key: value for key, value in flags.items() if value is not None})
    try:
        return SyncSettings(**values)
    except ValidationError as exc:
        raise SettingsError(str(exc)) from None


class SystemClock:
    """The wall clock, in UTC (``billing.clock.Clock``)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


def clock_for(as_of: dt.datetime | None) -> Any:
    """``--as-of T`` runs a command as if the clock read ``T``; without it, the wall clock."""
    return FrozenClock(as_of) if as_of is not None else SystemClock()


class SchemaError(RuntimeError):
    """The database has no subsync schema, or an older one (the message says what to run)."""


def display_url(url: str) -> str:
    """``url`` with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given; opening it will fail
        return url


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def schema_revisions(store: Store) -> tuple[str | None, tuple[str, ...]]:
    """(the database's alembic revision or None, the revisions this subsync needs)."""
    heads = tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
    with store.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, heads


def open_store(url: str, clock: Any, *, require_schema: bool = True, create: bool = False) -> Store:
    """The billing store at ``url``.

    With ``require_schema`` the database must exist and be migrated to this subsync's revision
    (``SchemaError`` otherwise: run ``subsync db upgrade``). ``create`` makes the directory of a
    SQLite file first (``db upgrade``, ``demo``).
    """
    try:
        path = _sqlite_file(url)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy's ArgumentError for a malformed URL
        raise SettingsError(f"--db / {DATABASE_URL_ENV}: not a database URL: {url!r} ({exc})") from None
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif require_schema and not path.exists():
            raise SchemaError(f"there is no database at {path}: run `subsync db upgrade` (or `subsync demo`) first")
    try:
        store = Store(url, clock=clock)
    except ValueError as exc:
        raise SettingsError(f"--db / {DATABASE_URL_ENV}: {exc}") from None
    if require_schema:
        try:
            current, heads = schema_revisions(store)
        except Exception:
            store.dispose()
            raise
        if current not in heads:
            store.dispose()
            where = display_url(url)
            if current is None:
                raise SchemaError(f"the database {where} has no subsync schema: run `subsync db upgrade` first")
            raise SchemaError(
                f"the database {where} is at schema revision {current}, this subsync needs {', '.join(heads)}:"
                " run `subsync db upgrade`"
            )
    return store


__all__ = [
    "DATABASE_URL_ENV",
    "SchemaError",
    "SettingsError",
    "SystemClock",
    "clock_for",
    "database_url",
    "display_url",
    "open_store",
    "schema_revisions",
    "format_duration",
    "parse_as_of",
    "parse_duration",
    "sync_settings",
]
