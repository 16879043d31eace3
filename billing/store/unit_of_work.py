"""The store: one SQLAlchemy ``Session`` per unit of work, shared by every repository and port call.

``with store.unit_of_work() as uow:`` opens a transaction, commits at exit and rolls back on error.
A unit of work opened while another is active in the same context *joins* it (mutations inside a
savepoint, so a failed nested operation leaves nothing behind); this is how the ports of reconciler
§8.2 join the sync transaction. ``locked_transaction`` additionally takes the per-customer lock.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator, Mapping

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.clock import Clock
from billing.errors import StoreIntegrityError
from billing.store.engine import DEFAULT_URL, create_store_engine
from billing.store.locking import acquire_customer_lock
from billing.store.repositories import (
    ChargeRepository,
    CustomerRepository,
    InvoiceRepository,
    LineRepository,
    SplitLineGroupRepository,
    SubscriptionRepository,
    SyncStateRepository,
    UsageRepository,
)
from billing.store.tables import Base

log = structlog.get_logger(__name__)


class UnitOfWork:
    """Repositories bound to one session; ``now`` is read once from the clock when the work starts."""

    def __init__(self, store: "Store", session: Session) -> None:
        self.store = store
        self.session = session
        self.now: dt.datetime = store.clock.now()
        self.locked_customers: set[tuple[str, str]] = set()
        self.customers = CustomerRepository(session)
        self.invoices = InvoiceRepository(session)
        self.lines = LineRepository(session)
        self.groups = SplitLineGroupRepository(session)
        self.usage = UsageRepository(session)
        self.charges = ChargeRepository(session)
        self.sync_states = SyncStateRepository(session)
        self.subscriptions = SubscriptionRepository(session)

    @property
    def custom_currencies(self) -> Mapping[str, int]:
        return self.store.custom_currencies

    def lock_customer(self, namespace: str, customer_id: str) -> None:
        """Take the per-customer lock for the rest of this transaction (idempotent).

        Only a lock taken at the top level of the transaction is remembered: PostgreSQL releases a row
        lock taken inside a savepoint when that savepoint rolls back, so a lock first taken in a
        savepoint is taken again (cheaply: re-locking a row this transaction holds does not wait).
        """
        key = (namespace, customer_id)
        if key in self.locked_customers:
            return
        acquire_customer_lock(self.session, namespace, customer_id)
        if not self.session.in_nested_transaction():
            self.locked_customers.add(key)

    def flush(self) -> None:
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise _refused(exc) from exc


def _refused(exc: IntegrityError) -> StoreIntegrityError:
    return StoreIntegrityError(f"the store refused a write (a live duplicate or a broken reference): {exc.orig}")


class Store:
    """A billing database: ``Store("sqlite:///subsync.db", clock=…)`` or a ``postgresql+psycopg://`` URL."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        clock: Clock,
        custom_currencies: Mapping[str, int] | None = None,
        schema: str | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.url = url
        self.schema = schema
        self.engine = engine if engine is not None else create_store_engine(url, schema=schema)
        self.clock = clock
        self.custom_currencies: Mapping[str, int] = dict(custom_currencies or {})
        self._current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
            f"billing-uow-{id(self)}", default=None
        )

    # -- schema ---------------------------------------------------------------------------------
    def create_all(self) -> None:
        """Create the schema straight from the ORM metadata (tests; production uses ``upgrade``)."""
        Base.metadata.create_all(self.engine)

    def upgrade(self, revision: str = "head") -> None:
        from billing.store.migrate import upgrade_engine

        upgrade_engine(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- transactions ---------------------------------------------------------------------------
    @property
    def current(self) -> UnitOfWork | None:
        return self._current.get()

    @contextlib.contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[UnitOfWork]:
        """A transaction: commit at exit, roll back on error. Joins an active one in this context."""
        current = self._current.get()
        if current is not None:
            if read_only:
                yield current
                return
            try:
                with current.session.begin_nested():
                    yield current
                    current.flush()
            except IntegrityError as exc:
                raise _refused(exc) from exc
            return
        with self._session(rollback=False) as uow:
            yield uow

    @contextlib.contextmanager
    def locked_transaction(self, namespace: str, customer_id: str, *, rollback: bool = False) -> Iterator[UnitOfWork]:
        """A transaction holding the per-customer lock; ``rollback=True`` never commits (dry run)."""
        current = self._current.get()
        if current is not None:
            savepoint = current.session.begin_nested()
            try:
                current.lock_customer(namespace, customer_id)
                yield current
                current.flush()
            except BaseException as exc:
                if savepoint.is_active:
                    savepoint.rollback()
                if isinstance(exc, IntegrityError):
                    raise _refused(exc) from exc
                raise
            if rollback:
                savepoint.rollback()
            else:
                savepoint.commit()
            return
        with self._session(rollback=rollback) as uow:
            uow.lock_customer(namespace, customer_id)
            yield uow

    @contextlib.contextmanager
    def _session(self, *, rollback: bool) -> Iterator[UnitOfWork]:
        session = Session(self.engine, expire_on_commit=False, autoflush=True)
        transaction = session.begin()
        uow = UnitOfWork(self, session)
        token = self._current.set(uow)
        try:
            try:
                yield uow
                uow.flush()
            except IntegrityError as exc:
                transaction.rollback()
                raise _refused(exc) from exc
            except BaseException:
                transaction.rollback()
                raise
            if rollback:
                transaction.rollback()
            else:
                try:
                    transaction.commit()
                except IntegrityError as exc:
                    raise _refused(exc) from exc
        finally:
            self._current.reset(token)
            session.close()
