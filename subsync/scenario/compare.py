"""Comparing expected and actual values of a STATE (scenario-format §4): scalars after normalisation
(decimals numerically, instants as instants, ``"*"`` for any non-null value), mappings partially, lists
of mappings as multisets and lists of scalars element by element."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

#: A key the actual value does not have (distinct from a null value).
MISSING = object()
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)

Problem = tuple[str, Any, Any]


def diff(expected: Any, actual: Any, path: str) -> list[Problem]:
    """Every (path, expected, actual) where ``actual`` does not match ``expected`` (empty: a match)."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [(path, dict(expected), plain(actual))]
        problems: list[Problem] = []
        for key, value in expected.items():
            problems += diff(value, actual.get(key, MISSING), f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple)):
            return [(path, expected, plain(actual))]
        if expected and all(isinstance(e, Mapping) for e in expected):
            if len(expected) != len(actual):
                return [(f"{path} (count)", len(expected), len(actual))]
            return assign(expected, list(actual), path)
        if len(expected) != len(actual):
            return [(path, expected, list(actual))]
        problems = []
        for index, (e, a) in enumerate(zip(expected, actual)):
            problems += diff(e, a, f"{path}[{index}]")
        return problems
    if scalar_matches(expected, actual):
        return []
    return [(path, expected, plain(actual))]


def assign(expected: Sequence[Any], actual: Sequence[Any], path: str) -> list[Problem]:
    """Pair each expected entry with its own matching actual entry (backtracking; lists are small).

    When no full pairing exists, report the first unpairable entry against its closest candidate.
    """
    matches = [[j for j, a in enumerate(actual) if not diff(e, a, path)] for e in expected]
    used: set[int] = set()

    def place(i: int) -> bool:
        if i == len(expected):
            return True
        for j in matches[i]:
            if j not in used:
                used.add(j)
                if place(i + 1):
                    return True
                used.discard(j)
        return False

    if place(0):
        return []
    for i, entry in enumerate(expected):
        free = [j for j in matches[i] if j not in used]
        if not matches[i]:
            candidates = [diff(entry, a, path) for a in actual]
            return min(candidates, key=len) if candidates else [(path, entry, None)]
        if not free:
            return [(path, entry, "matched by another listed entry already")]
    return [(path, list(expected), list(actual))]


def scalar_matches(expected: Any, actual: Any) -> bool:
    if actual is MISSING:
        return False
    if expected == "*":
        return actual is not None
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    e_dec, a_dec = _decimal(expected), _decimal(actual)
    if e_dec is not None and a_dec is not None:
        return e_dec == a_dec
    e_time, a_time = _instant(expected), _instant(actual)
    if e_time is not None and a_time is not None:
        return e_time == a_time
    return expected == actual


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _instant(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, str) and _INSTANT.match(value.strip()):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


def plain(value: Any) -> Any:
    return None if value is MISSING else value
