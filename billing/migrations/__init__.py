"""Alembic migrations of the billing store (run from code: ``billing.store.upgrade(url)``)."""
