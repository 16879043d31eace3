"""Deterministic entity ids of phases and item versions.

Keys never contain ``.``, so ``{subscription}.{phase}`` and ``{subscription}.{phase}.{item}.{n}`` are
unambiguous, and parsing one file twice gives the same ids. These are entity ids, not identities: a
target item's identity is built from keys and version positions (targetstate §7).
"""

from __future__ import annotations

from typing import Iterable


def phase_id(subscription_id: str, phase_key: str) -> str:
    return f"{subscription_id}.{phase_key}"


def item_id(phase_id_: str, item_key: str, taken: Iterable[str] = ()) -> str:
    """The first ``{phase_id}.{item_key}.{n}`` (n = 0, 1, …) not among ``taken``."""
    used = set(taken)
    n = 0
    while f"{phase_id_}.{item_key}.{n}" in used:
        n += 1
    return f"{phase_id_}.{item_key}.{n}"
