"""The fan-out's settings (``SUBSYNC_*``) and the Celery and database configuration they give."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from subsync.settings import SettingsError
from subsync.worker.config import ENQUEUE_DUE_CUSTOMERS, WorkerSettings, celery_config, load_worker_settings
from subsync.worker.context import create_worker_engine


def test_defaults_leave_the_embedded_default_in_place(monkeypatch):
    for name in ("SUBSYNC_BROKER_URL", "SUBSYNC_RESULT_BACKEND", "SUBSYNC_QUEUE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_worker_settings()
    assert not settings.broker_configured and settings.queue == "subsync"
    assert load_worker_settings(broker_url="  ").broker_url is None  # blank means unset


def test_the_environment_is_read_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("SUBSYNC_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("SUBSYNC_LOCK_TIMEOUT", "5s")
    settings = load_worker_settings()
    assert settings.broker_configured and settings.seconds("lock_timeout") == 5
    monkeypatch.setenv("SUBSYNC_RETRY_BACKOFF", "soon")
    with pytest.raises(SettingsError, match="SUBSYNC_RETRY_BACKOFF: .*soon"):
        load_worker_settings()
    monkeypatch.setenv("SUBSYNC_RETRY_BACKOFF", "0s")
    with pytest.raises(SettingsError, match="SUBSYNC_RETRY_BACKOFF: .*positive"):
        load_worker_settings()
    monkeypatch.setenv("SUBSYNC_RETRY_BACKOFF", "2s")
    monkeypatch.setenv("SUBSYNC_TASK_MAX_RETRIES", "-1")
    with pytest.raises(SettingsError, match="SUBSYNC_TASK_MAX_RETRIES"):
        load_worker_settings()


def test_results_go_to_a_redis_broker_unless_configured_otherwise():
    assert WorkerSettings(broker_url="redis://h:6379/0").effective_result_backend == "redis://h:6379/0"
    assert WorkerSettings(broker_url="amqp://guest:guest@h:5672//").effective_result_backend is None
    assert WorkerSettings(broker_url="amqp://guest:guest@h:5672//",
                          result_backend="redis://h:6379/1").effective_result_backend == "redis://h:6379/1"
    assert WorkerSettings(broker_url="amqp://guest:secret@h:5672//").display_broker().count("secret") == 0


def test_celery_is_configured_for_late_acknowledgement_and_redelivery():
    config = celery_config(WorkerSettings(broker_url="redis://h:6379/0", queue="billing", visibility_timeout="2h",
                                          beat_interval="15m"))
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_default_queue"] == "billing"
    assert config["broker_transport_options"] == {"visibility_timeout": 7200}
    assert config["accept_content"] == ["json"]
    beat = config["beat_schedule"]["subsync-enqueue-due-customers"]
    assert (beat["task"], beat["schedule"], beat["options"]) == (ENQUEUE_DUE_CUSTOMERS, 900.0, {"queue": "billing"})


@pytest.mark.postgres
def test_worker_connections_carry_the_lock_timeout_and_keep_the_urls_search_path(pg_schema):
    engine = create_worker_engine(pg_schema.schema_url, lock_timeout=dt.timedelta(seconds=7))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW lock_timeout")).scalar_one() == "7s"
            assert pg_schema.schema in connection.execute(text("SHOW search_path")).scalar_one()
    finally:
        engine.dispose()
