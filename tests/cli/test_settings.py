"""``subsync.settings``: durations, ``--as-of``, the database URL and ``SyncSettings`` from the environment."""

from __future__ import annotations

import datetime as dt

import pytest

from subsync.settings import (
    SettingsError,
    database_url,
    format_duration,
    parse_as_of,
    parse_duration,
    sync_settings,
)

UTC = dt.timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("90s", dt.timedelta(seconds=90)),
    ("30m", dt.timedelta(minutes=30)),
    ("24h", dt.timedelta(hours=24)),
    ("7d", dt.timedelta(days=7)),
    ("2w", dt.timedelta(weeks=2)),
    ("1h30m", dt.timedelta(minutes=90)),
    ("PT24H", dt.timedelta(hours=24)),
    ("P1D", dt.timedelta(days=1)),
    ("pt90s", dt.timedelta(seconds=90)),
    (" 24h ", dt.timedelta(hours=24)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "expected a duration"),
    ("soon", "expected a duration"),
    ("24", None),  # a bare number is seconds
    ("P1M", "months or years"),
    ("P1Y", "months or years"),
    ("PX", "not an ISO 8601 duration"),
])
def test_duration_errors_name_the_field(text, message):
    if message is None:
        assert parse_duration(text) == dt.timedelta(seconds=24)
        return
    with pytest.raises(SettingsError, match=f"--lookback: .*{message}"):
        parse_duration(text, field="--lookback")


@pytest.mark.parametrize("value, text", [
    (dt.timedelta(days=7), "7d"), (dt.timedelta(hours=36), "36h"), (dt.timedelta(seconds=90), "90s"),
    (dt.timedelta(minutes=30), "30m"),
])
def test_format_duration_round_trips(value, text):
    assert format_duration(value) == text and parse_duration(text) == value


def test_as_of_is_an_aware_instant_in_utc():
    assert parse_as_of(None) is None
    assert parse_as_of("2024-02-01T00:00:00Z") == dt.datetime(2024, 2, 1, tzinfo=UTC)
    assert parse_as_of("2024-02-01T02:00:00+02:00") == dt.datetime(2024, 2, 1, tzinfo=UTC)
    for bad in ("2024-02-01", "2024-02-01T00:00:00", "yesterday"):
        with pytest.raises(SettingsError, match="--as-of"):
            parse_as_of(bad)


def test_database_url_flag_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("SUBSYNC_DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///subsync.db"
    monkeypatch.setenv("SUBSYNC_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///other.db") == "sqlite:///other.db"


def test_sync_settings_from_environment_and_flags(monkeypatch):
    for name in ("CREDITS_ENABLED", "LOCKDOWN_NAMESPACES", "RECONCILE_DEFAULT_LOOKBACK", "RECONCILE_PAGE_SIZE",
                 "MAX_LINES_PER_COLLECTED_INVOICE"):
        monkeypatch.delenv(f"SUBSYNC_{name}", raising=False)
    defaults = sync_settings()
    assert (defaults.credits_enabled, defaults.reconcile_page_size, defaults.reconcile_default_lookback) == (
        False, 10_000, dt.timedelta(hours=24))
    monkeypatch.setenv("SUBSYNC_CREDITS_ENABLED", "true")
    monkeypatch.setenv("SUBSYNC_LOCKDOWN_NAMESPACES", "a, b")
    monkeypatch.setenv("SUBSYNC_RECONCILE_DEFAULT_LOOKBACK", "PT48H")
    monkeypatch.setenv("SUBSYNC_MAX_LINES_PER_COLLECTED_INVOICE", "50")
    settings = sync_settings(reconcile_page_size=500, credit_then_invoice_enabled=None)
    assert settings.credits_enabled is True and settings.credit_then_invoice_enabled is True
    assert settings.lockdown_namespaces == frozenset({"a", "b"})
    assert settings.reconcile_default_lookback == dt.timedelta(hours=48)
    assert (settings.max_lines_per_collected_invoice, settings.reconcile_page_size) == (50, 500)


@pytest.mark.parametrize("name, value", [
    ("SUBSYNC_RECONCILE_PAGE_SIZE", "0"),
    ("SUBSYNC_CREDITS_ENABLED", "perhaps"),
    ("SUBSYNC_RECONCILE_DEFAULT_LOOKBACK", "P1M"),
])
def test_bad_environment_values_name_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        sync_settings()
