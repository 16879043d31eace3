"""The fingerprint of a persisted state (reconciler.md §2.7): the basis of a plan.

``fingerprint(items, invoices)`` is the hex SHA-256 of one canonical JSON document::

    {"format": "subsync.persisted-state/1",
     "items":    [{"shape": …, "identity": …, "payload": …}, …],   # ordered by identity, shape, id
     "invoices": [<invoice snapshot>, …]}                            # ordered by invoice id

Canonical JSON: keys sorted, no whitespace, UTF-8, decimals as their exact strings (``"1.50"``),
instants in RFC 3339 UTC (``2024-01-01T00:00:00Z``, fractional seconds kept when present), tuples as
lists, no NaN. Every field of every payload is included, ``updated_at`` values too, so any change to
a loaded row changes the fingerprint and nothing else does. The loader fingerprints the rows *as
read* (before normalisation), so even a sub-second change to a stored instant is seen.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

FORMAT = "subsync.persisted-state/1"
UTC = dt.timezone.utc


def rfc3339(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be fingerprinted; instants are UTC")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical_value(value: Any) -> Any:
    """``value`` as plain JSON data: models dumped, decimals and instants as strings."""
    if isinstance(value, BaseModel):
        return canonical_value(value.model_dump())
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite decimal {value} cannot be fingerprinted")
        return str(value)
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return canonical_value(value.value)
    if isinstance(value, float):
        return value  # only free-form annotations or metadata can hold one; json writes it exactly
    if isinstance(value, Mapping):
        return {str(key): canonical_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical_value(item) for item in value), key=canonical_json)
    raise TypeError(f"cannot fingerprint a {type(value).__name__}: {value!r}")


def _encode_default(value: Any) -> Any:
    """What ``json`` cannot encode itself, as ``canonical_value`` writes it. Plain JSON data (and str /
    int enums, which json writes as their values) never reaches this hook."""
    kind = type(value)
    if kind is dt.datetime and value.tzinfo is UTC:  # the common case, as the store returns instants
        return value.isoformat()[:-6] + "Z"
    if kind is Decimal and value.is_finite():
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, (set, frozenset)):
        return sorted((canonical_value(item) for item in value), key=canonical_json)
    return canonical_value(value)


def canonical_json(value: Any) -> str:
    """``canonical_value(value)`` as canonical JSON text. json's C encoder walks the data and calls
    back only for models, decimals, instants and the like, so large states encode fast."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_encode_default
    )


def item_sort_key(item: Any) -> tuple[str, str, str, str]:
    namespace, item_id = item.id
    return (item.identity or "", item.shape, namespace, item_id)


def fingerprint(items: Iterable[Any], invoices: Iterable[Any]) -> str:
    """Hex SHA-256 of the canonical document of ``items`` (persisted items) and invoice snapshots."""
    document = {
        "format": FORMAT,
        "items": [
            {"shape": item.shape, "identity": item.identity, "payload": item.payload}
            for item in sorted(items, key=item_sort_key)
        ],
        "invoices": sorted(invoices, key=lambda invoice: invoice.id),
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
