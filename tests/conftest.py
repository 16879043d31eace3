"""Shared test set-up: hypothesis profiles.

``HYPOTHESIS_PROFILE=ci`` (set by .ci/run through SUBSYNC_SCALE=ci) keeps property tests within CI's
time on a 2-core machine; ``dev`` is the default for local runs; ``thorough`` digs deeper.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Under pytest-xdist (``make test``), tests that use the shared Redis test database (they flush
    it) run in one worker process, one after another."""
    import pytest

    for item in items:
        if "broker_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("redis-broker"))


@pytest.fixture(autouse=True)
def _fresh_structlog_configuration():
    """Each test starts from structlog's defaults. ``subsync`` commands run in-process configure
    structlog for the whole process (JSON at WARNING); under pytest-xdist a later test in the same
    worker would otherwise see its info events filtered out before ``capture_logs`` sees them."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


# --- billing store fixtures -----------------------------------------------------------------------
# Every test that touches the store runs on SQLite (a tmp file per test) and, when
# SUBSYNC_TEST_DATABASE_URL names a PostgreSQL database, on PostgreSQL too, in a fresh schema per test
# (created and dropped here; nothing in ``public`` is touched). The schema comes from the ORM metadata;
# the alembic migrations have their own test.

import datetime as _dt  # noqa: E402
import uuid as _uuid  # noqa: E402

import pytest  # noqa: E402

POSTGRES_URL_ENV = "SUBSYNC_TEST_DATABASE_URL"
STORE_EPOCH = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)


def _store_backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(POSTGRES_URL_ENV) else ["sqlite"]


@pytest.fixture(scope="session")
def postgres_admin_engine():
    """An autocommit engine on the test database, for creating and dropping per-test schemas."""
    from sqlalchemy import create_engine

    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=_store_backends())
def database(request, tmp_path):
    """(url, schema) of a fresh, empty database on each backend: a SQLite file per test, or a new
    PostgreSQL schema that is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'billing.db'}", None
        return
    from sqlalchemy import text

    admin = request.getfixturevalue("postgres_admin_engine")
    schema = f"subsync_test_{_uuid.uuid4().hex[:20]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield os.environ[POSTGRES_URL_ENV], schema
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def clock():
    from billing.clock import FrozenClock

    return FrozenClock(STORE_EPOCH)


@pytest.fixture
def store(database, clock):
    """A ``billing.store.Store`` with the schema created from the ORM metadata."""
    from billing.store import Store

    url, schema = database
    instance = Store(url, clock=clock, schema=schema, custom_currencies={"CREDITS": 2})
    instance.create_all()
    yield instance
    instance.dispose()


@pytest.fixture
def billing_service(store):
    from billing.service import BillingService

    return BillingService(store)
