"""Fixtures of the fault tests: the worker tests' fresh PostgreSQL schema."""

from tests.worker.conftest import pg_schema  # noqa: F401 - a fixture, used by name
