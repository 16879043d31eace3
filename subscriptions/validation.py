"""Turning pydantic ``ValidationError``s into ``SubscriptionValidationError``s that name the object.

Pydantic reports a location such as ``('plan', 'phases', 0, 'rate_cards', 1, 'price', 'flat', 'amount')``.
A billing engineer wants ``phase 'trial', rate card 'in-advance': price.amount: must not be negative,
got -1``: the objects by their keys, then the field path, then the reason. The raw input is walked along
the location to find the keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from subscriptions.display import elide, show
from subscriptions.errors import SubscriptionValidationError
from subscriptions.types import KEY_PATTERN, UtcDatetime

_PRICE_TAGS = frozenset({"flat", "unit", "tiered", "package"})
#: Model field names shown under the name the file uses.
_FILE_NAMES = {"feature_key": "feature", "tax_config": "tax"}
#: Container field → (object noun, key field of its elements).
_OBJECTS = {
    "phases": ("phase", "key"),
    "rate_cards": ("rate card", "key"),
}
_ROOT_OBJECTS = {"plan": "plan", "subscription": "subscription", "customer": "customer"}
_INSTANT: TypeAdapter[dt.datetime] = TypeAdapter(UtcDatetime)


def parse_instant(value: Any, *, field: str, obj: str | None = None) -> dt.datetime:
    """An aware UTC instant from an RFC 3339 string or a datetime; the error names ``obj`` and ``field``."""
    try:
        return _INSTANT.validate_python(value)
    except ValidationError as exc:
        raise SubscriptionValidationError(reason(exc.errors(include_url=False)[0]), obj=obj, field=field) from None


def convert(
    exc: ValidationError,
    data: Any = None,
    *,
    context: str | None = None,
) -> SubscriptionValidationError:
    """One ``SubscriptionValidationError`` for ``exc``: its first error, with a count of the others.

    ``data`` is the raw input that was validated (used to name objects by key); ``context`` names
    the object the whole input stands for (for example ``"subscription 'sub-1'"``).
    """
    errors = exc.errors(include_url=False)
    obj, field, message = describe(errors[0], data)
    if context and not obj.startswith(context) and not (not obj and message.startswith(context)):
        obj = f"{context}, {obj}" if obj else context
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return SubscriptionValidationError(message, obj=obj or None, field=field or None)


def describe(error: ErrorDetails, data: Any) -> tuple[str, str, str]:
    """``(objects, field path, reason)`` of one pydantic error."""
    objects: list[str] = []
    fields: list[str] = []
    node: Any = data
    loc: Sequence[int | str] = error["loc"]
    i = 0
    while i < len(loc):
        segment = loc[i]
        if isinstance(segment, str) and not fields and segment in _ROOT_OBJECTS and i == 0:
            node = _child(node, segment)
            objects.append(_name(_ROOT_OBJECTS[segment], node, "id" if segment == "subscription" else "key"))
            i += 1
            continue
        if segment in _OBJECTS and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            noun, key_field = _OBJECTS[segment]
            node = _child(_child(node, segment), loc[i + 1])
            name = _name(noun, node, key_field, index=loc[i + 1])
            if noun == "phase" and objects and objects[-1].startswith("plan"):
                objects[-1] = name  # a phase names itself; the plan is implied
            else:
                objects.append(name)
            fields.clear()
            i += 2
            continue
        if segment == "items_by_key" and i + 2 < len(loc) and isinstance(loc[i + 2], int):
            objects.append(f"item {loc[i + 1]!r} v[{loc[i + 2]}]")
            node = _child(_child(_child(node, segment), loc[i + 1]), loc[i + 2])
            fields.clear()
            i += 3
            continue
        if (
            isinstance(segment, str)
            and segment in _PRICE_TAGS
            and fields
            and fields[-1] == "price"
            and isinstance(node, Mapping)
            and node.get("type") == segment
        ):
            i += 1  # the discriminated-union tag is not a field
            continue
        if isinstance(segment, int):
            if fields:
                fields[-1] += f"[{segment}]"
            else:
                fields.append(f"[{segment}]")
        else:
            fields.append(_FILE_NAMES.get(segment, _field_name(segment)))
        node = _child(node, segment)
        i += 1
    text = reason(error)
    for name in objects:
        if text.startswith(f"{name}: "):  # model validators often name their own object
            text = text[len(name) + 2 :]
    return ", ".join(objects), ".".join(fields), text


def reason(error: ErrorDetails) -> str:
    """A short reason for one pydantic error, with the offending value where it helps."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "value_error":
        return elide(str(ctx.get("error", error["msg"])))
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"unknown field (value {_show(value)})"
    if kind == "union_tag_invalid":
        expected = ", ".join(t.strip("'") for t in str(ctx.get("expected_tags", "")).split(", "))
        return f"unknown price type {_show(ctx.get('tag'))} (expected one of {expected})"
    if kind == "union_tag_not_found":
        return "a price needs a type (flat, unit, tiered or package)"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {_show(value)}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == KEY_PATTERN:
        return f"a key must match [a-z0-9][a-z0-9_-]* (at most 64 characters), got {_show(value)}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters, got {_show(value)}"
    if kind == "timezone_aware":
        return f"must be a timezone-aware instant (e.g. 2024-01-01T00:00:00Z), got naive {_show(value)}"
    if kind in ("datetime_parsing", "datetime_from_date_parsing", "datetime_type"):
        return f"not an RFC 3339 instant: {_show(value)}"
    if kind in ("decimal_parsing", "decimal_type"):
        return f"not a decimal amount: {_show(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "recursion_loop":
        return "refers to itself (a recursive YAML alias?)"
    msg = elide(error["msg"])
    return f"{msg[:1].lower()}{msg[1:]}, got {_show(value)}"


def _show(value: Any) -> str:
    if isinstance(value, (Mapping, list, tuple)):
        return show(value, limit=60)
    return show(value)


def _child(node: Any, segment: int | str) -> Any:
    try:
        if isinstance(segment, int) and isinstance(node, Sequence) and not isinstance(node, str):
            return node[segment]
        if isinstance(node, Mapping):
            return node.get(segment)
    except (IndexError, KeyError, TypeError):
        return None
    return getattr(node, segment, None) if isinstance(segment, str) else None


def _name(noun: str, node: Any, key_field: str, *, index: int | None = None) -> str:
    key = _child(node, key_field)
    if isinstance(key, str) and key:
        return f"{noun} {show(key)}"
    return f"{noun} #{index + 1}" if index is not None else noun


def _field_name(segment: Any) -> str:
    """A location segment as a field name; a field the user invented may be anything (10 MB, unicode)."""
    text = str(segment)
    if len(text) <= 64 and text.isprintable():
        return text
    return show(text, limit=40)
