"""Checking the shape of an ``expect`` block when the file is loaded (a malformed one is exit code 2)."""

from __future__ import annotations

from typing import Any, Mapping

from subsync.errors import CATEGORIES

ENTITY_KEYS = ("identity", "ref")
TOP_LEVEL_KEYS = frozenset(
    {
        "step", "at", "do", "error", "invoice_count", "plan", "plan_contains", "invoices", "gathering",
        "charges", "charges_contain", "charges_absent", "charges_include_deleted", "credit_purchases",
        "credits", "sync_state",
    }
)


def check_expect_shape(expect: Any) -> None:
    """Raise ``ValueError("<field>: <problem>")`` for an expect block the matcher cannot read."""
    if not isinstance(expect, Mapping):
        raise ValueError(f"expect: must be a mapping, got {type(expect).__name__}")
    for key, value in expect.items():
        if key not in TOP_LEVEL_KEYS:
            raise ValueError(f"{key}: unknown key (expected some of {', '.join(sorted(TOP_LEVEL_KEYS))})")
        if key == "error" and value is not None:
            if not isinstance(value, Mapping):
                raise ValueError("error: must be null or a mapping {type, message_contains}")
            unknown = set(value) - {"type", "message_contains"}
            if unknown:
                raise ValueError(f"error: unknown key {', '.join(sorted(unknown))}")
            if "type" in value and value["type"] not in CATEGORIES:
                raise ValueError(f"error.type: must be one of {', '.join(CATEGORIES)}, got {value['type']!r}")
        elif key == "gathering":
            if value != "none" and value is not None:
                _check_invoice_shape("gathering", value)
        elif key == "invoices":
            if isinstance(value, Mapping):
                for ref, invoice in value.items():
                    _check_invoice_shape(f"invoices.{ref}", invoice)
            elif isinstance(value, list):
                for index, invoice in enumerate(value):
                    _check_invoice_shape(f"invoices[{index}]", invoice)
            else:
                raise ValueError("invoices: must be a mapping of reference → invoice")
        elif key in ("charges", "charges_contain"):
            _check_entities(key, value)
        elif key == "charges_absent":
            _check_absent(key, value)
        elif key == "charges_include_deleted" and not isinstance(value, bool):
            raise ValueError(f"{key}: must be true or false")
        elif key == "plan_contains":
            texts = [value] if isinstance(value, str) else value
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError("plan_contains: must be a string or a list of strings")


def _check_invoice_shape(where: str, invoice: Any) -> None:
    if not isinstance(invoice, Mapping):
        raise ValueError(f"{where}: must be a mapping (or none for gathering)")
    for key in ("lines", "lines_contain"):
        if key in invoice:
            _check_entities(f"{where}.{key}", invoice[key])
    if "lines_absent" in invoice:
        _check_absent(f"{where}.lines_absent", invoice["lines_absent"])
    if "lines_include_deleted" in invoice and not isinstance(invoice["lines_include_deleted"], bool):
        raise ValueError(f"{where}.lines_include_deleted: must be true or false")


def _check_entities(where: str, entries: Any) -> None:
    if not isinstance(entries, list):
        raise ValueError(f"{where}: must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not any(entry.get(k) for k in ENTITY_KEYS):
            raise ValueError(f"{where}[{index}]: each entry is a mapping with an identity (or a ref)")


def _check_absent(where: str, entries: Any) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, str) and e for e in entries):
        raise ValueError(f"{where}: must be a list of identities (or refs)")
