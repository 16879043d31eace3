"""Showing user input inside error messages, bounded.

A message echoes the offending value so the user can find it, but input may be hostile: a 10 MB string,
an integer of 5 000 digits, a list nested 100 levels deep or a YAML alias bomb whose full ``repr`` would
never finish. ``show`` is ``repr`` for ordinary values and a short, elided form for anything large;
``elide`` cuts a finished message. Every message of this package that quotes input goes through them.
"""

from __future__ import annotations

import datetime as dt
import reprlib
from typing import Any

#: Characters of a shown value.
SHOW_LIMIT = 80
#: Characters of a whole message (``SubscriptionValidationError`` cuts longer ones).
MESSAGE_LIMIT = 600

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 6
_REPR.maxdict = 4
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlong = 40


def show(value: Any, limit: int = SHOW_LIMIT) -> str:
    """``repr(value)`` when it is short; otherwise a bounded form that says how large the value is."""
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    if isinstance(value, str):
        if len(value) <= limit:
            text = repr(value)
            if len(text) <= 2 * limit:
                return text
        head = repr(value[: limit // 2])
        return f"{head[:limit]}... ({len(value)} characters)"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 3 * limit:  # repr would raise past 4 300 digits and say nothing useful
            return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
        text = repr(value)
        return text if len(text) <= limit else f"{text[: limit // 2]}... ({len(text)} digits)"
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still shown by its type
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def elide(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... ({len(text) - limit + 40} more characters)"
