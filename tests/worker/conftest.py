"""Fixtures of the worker tests: a dedicated Redis database and a fresh PostgreSQL schema."""

from __future__ import annotations

import uuid

import pytest

from tests.worker.services import (
    create_schema,
    drop_schema,
    flush_redis,
    postgres_problem,
    postgres_url,
    redis_problem,
    redis_url,
)


@pytest.fixture
def broker_url():  # type: ignore[no-untyped-def]
    """A Redis database of the tests' own, empty before and after."""
    url = redis_url()
    problem = redis_problem(url)
    if problem:
        pytest.skip(problem)
    flush_redis(url)
    yield url
    flush_redis(url)


@pytest.fixture
def queue() -> str:
    return f"subsync-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg_schema():  # type: ignore[no-untyped-def]
    """A fresh, migrated PostgreSQL schema, dropped afterwards."""
    url = postgres_url()
    problem = postgres_problem(url)
    if problem:
        pytest.skip(problem)
    fresh = create_schema(url)
    yield fresh
    drop_schema(fresh)
