"""The SQLAlchemy billing store: schema, migrations, unit of work, repositories, locking.

``Store(url, clock=…)`` opens a database (``sqlite:///subsync.db`` by default, or a
``postgresql+psycopg://`` URL); ``upgrade(url)`` runs the packaged alembic migrations.
"""

from billing.store.engine import DEFAULT_URL, create_store_engine
from billing.store.migrate import pending_schema_changes, upgrade
from billing.store.unit_of_work import Store, UnitOfWork

__all__ = ["DEFAULT_URL", "Store", "UnitOfWork", "create_store_engine", "pending_schema_changes", "upgrade"]
