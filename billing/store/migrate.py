"""Run the packaged alembic migrations from code, and compare the migrated schema with the ORM."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from billing.store.engine import DEFAULT_URL, create_store_engine
from billing.store.tables import Base

SCRIPT_LOCATION = "billing:migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade(url: str = DEFAULT_URL, revision: str = "head", *, schema: str | None = None) -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest)."""
    engine = create_store_engine(url, schema=schema)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


def pending_schema_changes(engine: Engine) -> list[Any]:
    """What ``alembic check`` would report: differences between the database and the ORM metadata."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)
