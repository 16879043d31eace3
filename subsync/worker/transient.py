"""Which errors a task retries (transient) and how long it waits (exponential backoff with jitter).

Transient: the database, not the data, failed, and the same task may well succeed later.

- the connection broke or could not be opened (PostgreSQL SQLSTATE class ``08``, a server shutting down
  ``57P01``–``57P03``, a terminated backend, SQLAlchemy's ``connection_invalidated``, a closed
  connection, a pool time-out);
- a lock was not had in time (``55P03`` lock_not_available, raised after ``SUBSYNC_LOCK_TIMEOUT``), a
  statement was cancelled (``57014``), a deadlock or serialisation failure (class ``40``), the server ran
  short of resources (class ``53``);
- SQLite: ``database is locked`` / ``busy`` (another writer held the database past the busy time-out).

Everything else is not retried. Errors with a category of ``subsync.errors`` (integrity errors above
all) are terminal for a task queue (reconciler §6.7, D-16): the task reports them in its result and its
log. A SQLAlchemy ``OperationalError`` that is none of the above (``no such table``, a bad password) is
a configuration problem that waiting does not fix.
"""

from __future__ import annotations

import random

from sqlalchemy import exc as sa_exc

#: PostgreSQL SQLSTATE classes and codes that are worth a retry.
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53")
TRANSIENT_SQLSTATES = frozenset({"55P03", "57014", "57P01", "57P02", "57P03"})
SQLITE_TRANSIENT_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def _sqlstate(error: BaseException | None) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


def _is_transient_one(error: BaseException) -> bool:
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        original = error.orig
        if isinstance(error, sa_exc.InterfaceError):
            return True  # the driver's connection is closed or broken
        state = _sqlstate(original)
        if state is not None:
            return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
        if isinstance(error, sa_exc.OperationalError):
            message = str(original).lower()
            if type(original).__module__.startswith("sqlite3"):
                return any(text in message for text in SQLITE_TRANSIENT_MESSAGES)
            # psycopg raises connection failures without a SQLSTATE ("server closed the connection",
            # "connection failed", "consuming input failed").
            return True
        return False
    state = _sqlstate(error)  # a driver error that reached us unwrapped
    if state is not None:
        return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
    return False


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or an error it was raised from) is worth retrying later."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if _is_transient_one(current):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


def backoff_seconds(retries: int, *, base: float, maximum: float, jitter: random.Random | None = None) -> float:
    """The delay before retry number ``retries + 1``: ``base · 2^retries``, capped at ``maximum``, then
    drawn uniformly from its upper half so that tasks failing together do not retry together."""
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    ceiling = min(maximum, base * (2 ** min(retries, 32)))
    rng = jitter if jitter is not None else random
    return rng.uniform(ceiling / 2, ceiling)


__all__ = ["backoff_seconds", "is_transient"]
