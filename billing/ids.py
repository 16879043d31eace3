"""Opaque ids: uuid4 hex strings. Creation order is kept by each table's sequence column instead."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return uuid.uuid4().hex
