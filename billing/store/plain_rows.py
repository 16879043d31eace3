"""Reading rows without the ORM's identity map, for bulk read-only loads.

``plain_columns(LineRow)`` lists an entity's columns labelled with its attribute names
(``metadata_`` included), so a Core ``select`` returns rows that the ``billing.store.mapping``
functions read exactly like ORM objects, with the same column types applied, at a fraction of the
cost: no instance state, no identity map. Only for reads whose rows are never written back.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.sql.elements import Label


@cache
def plain_columns(entity: type[Any]) -> tuple[Label[Any], ...]:
    return tuple(prop.columns[0].label(prop.key) for prop in inspect(entity).column_attrs)


__all__ = ["plain_columns"]
