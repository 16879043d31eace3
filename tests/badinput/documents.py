"""Valid setup documents to corrupt, and the paths into them.

The bases are the repository's fixtures (``fixtures/``) plus ``RICH``, a hand-written setup that uses
every field a setup may hold (every price type, tiers, commitments, tax, discounts, unit_config, a
billing profile, custom currencies, several meters and phases), so that a mutation can reach every
field. Documents are plain JSON-shaped data: YAML aliases of the fixtures are unshared, so a mutation
changes exactly one place.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml

from subscriptions.setup import load_setup_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"

Path_ = tuple[Any, ...]

RICH: dict[str, Any] = {
    "name": "Rich setup for bad-input tests",
    "description": "Every setup field in use.",
    "clock": "2024-01-01T00:00:00Z",
    "currencies": [{"code": "CREDITS", "precision": 2}],
    "meters": [
        {"key": "api-requests-total", "aggregation": "sum"},
        {"key": "storage-gb", "aggregation": "max"},
    ],
    "customer": {
        "key": "rich-customer",
        "name": "Rich Customer Ltd",
        "currency": "USD",
        "billing_profile": {
            "collection": {"alignment": "subscription", "interval": "PT1H"},
            "invoicing": {
                "auto_advance": True,
                "draft_period": "P1D",
                "due_after": "P1W",
                "progressive_billing": False,
                "subscription_end_proration_mode": "bill_full_period",
            },
        },
    },
    "plan": {
        "key": "rich-plan",
        "version": 3,
        "name": "Rich plan",
        "description": "A plan with one of everything.",
        "currency": "USD",
        "billing_cadence": "P1M",
        "pro_rating": {"enabled": True, "mode": "prorate_prices"},
        "settlement_mode": "credit_then_invoice",
        "phases": [
            {
                "key": "trial",
                "name": "Trial",
                "description": "Two free weeks",
                "duration": "P14D",
                "rate_cards": [
                    {"key": "api", "type": "usage_based", "feature": "api-requests-total", "billing_cadence": "P1M",
                     "price": None},
                ],
            },
            {
                "key": "paid",
                "duration": "P6M",
                "rate_cards": [
                    {"key": "setup-fee", "name": "Setup fee", "type": "flat_fee",
                     "price": {"type": "flat", "amount": "99.50", "payment_term": "in_advance"},
                     "tax": {"behavior": "exclusive", "code": "txcd_10000000"}},
                    {"key": "platform", "type": "flat_fee", "billing_cadence": "P1M",
                     "price": {"type": "flat", "amount": "49", "payment_term": "in_arrears"},
                     "discounts": {"percentage": "10"}},
                    {"key": "api", "type": "usage_based", "feature": "api-requests-total", "billing_cadence": "P1M",
                     "price": {"type": "tiered", "mode": "graduated", "minimum_amount": "5", "maximum_amount": "500",
                               "tiers": [{"up_to": "1000", "unit_price": "0", "flat_price": "1"},
                                         {"up_to": "100000", "unit_price": "0.001"},
                                         {"up_to": None, "unit_price": "0.0005"}]},
                     "discounts": {"usage": "100"},
                     "unit_config": {"operation": "divide", "conversion_factor": "1000", "rounding": "ceiling"}},
                    {"key": "storage", "type": "usage_based", "feature": "storage-gb", "billing_cadence": "P1D",
                     "price": {"type": "package", "amount": "2", "quantity_per_package": "10"}},
                    {"key": "seats", "type": "usage_based", "feature": "api-requests-total", "billing_cadence": "P3M",
                     "price": {"type": "unit", "amount": "7", "currency": "CREDITS"}},
                ],
            },
            {
                "key": "renewal",
                "rate_cards": [
                    {"key": "platform", "type": "flat_fee", "billing_cadence": "P1Y",
                     "price": {"type": "flat", "amount": "500"}},
                    {"key": "api", "type": "usage_based", "feature": "api-requests-total", "billing_cadence": "P1M",
                     "price": {"type": "tiered", "mode": "volume",
                               "tiers": [{"up_to": "10", "flat_price": "0"}, {"unit_price": "0.01"}]}},
                ],
            },
        ],
    },
    "subscription": {
        "id": "rich-sub",
        "name": "Rich subscription",
        "start": "2024-01-01T00:00:00Z",
        "billing_anchor": "2024-01-01T00:00:00Z",
        "end": "2026-01-01T00:00:00Z",
    },
}

#: Top-level keys read by ``subscriptions`` (``settings``, ``payment_app`` and ``steps`` belong to other
#: readers, which check them themselves).
SETUP_SECTIONS = ("name", "description", "clock", "currencies", "meters", "customer", "plan", "subscription")


def _plain(document: Any) -> Any:
    """JSON round trip: aliases unshared, only str / int / bool / None / list / dict left."""
    return json.loads(json.dumps(document))


@lru_cache(maxsize=1)
def fixture_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(name, document) of every fixture file, and the rich document."""
    found = [("rich", _plain(RICH))]
    for path in sorted(FIXTURES.rglob("*.yaml")):
        found.append((path.name, _plain(dict(load_setup_file(path)))))
    return tuple(found)


def base(name: str) -> dict[str, Any]:
    """A fresh copy of one base document."""
    return copy.deepcopy(dict(fixture_documents())[name])


@lru_cache(maxsize=None)
def base_setup(name: str) -> dict[str, Any]:
    """One base document without its steps: shared, never mutate it (``copy.deepcopy`` it first)."""
    return setup_only(dict(fixture_documents())[name])


def base_names() -> list[str]:
    return [name for name, _ in fixture_documents()]


def setup_only(document: dict[str, Any]) -> dict[str, Any]:
    """The document without its steps (the setup keys a setup reader looks at)."""
    return {k: v for k, v in document.items() if k != "steps"}


def walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below ``node``, the node itself first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def get(document: Any, path: Path_) -> Any:
    node = document
    for part in path:
        node = node[part]
    return node


def put(document: Any, path: Path_, value: Any) -> None:
    get(document, path[:-1])[path[-1]] = value


def delete(document: Any, path: Path_) -> None:
    del get(document, path[:-1])[path[-1]]


def pattern(path: Path_) -> tuple[Any, ...]:
    """The path with list positions replaced by ``*`` (``plan.phases.*.rate_cards.*.key``)."""
    return tuple("*" if isinstance(part, int) else part for part in path)


def in_setup(path: Path_) -> bool:
    """True for a path the ``subscriptions`` package validates (not steps, settings, payment app, and
    not the parts of ``meters`` and ``currencies`` it does not read)."""
    if not path or path[0] not in SETUP_SECTIONS:
        return False
    if path[0] in ("meters", "currencies"):
        return len(path) == 1 or len(path) == 2 or path[2] in ("key", "code")
    return True


def in_unit_config(path: Path_) -> bool:
    """True below a ``unit_config`` (free-form JSON), not for the ``unit_config`` itself."""
    return "unit_config" in path[:-1]


def owner(document: Any, path: Path_) -> tuple[str, str | None]:
    """The object a path belongs to, as error messages name it: ``("rate card", key)``, ``("phase", key)``,
    ``("plan", key)``, ``("subscription", id)``, ``("customer", key)`` or ``("", None)`` at the top."""
    pat = pattern(path)
    if pat[:4] == ("plan", "phases", "*", "rate_cards") and len(path) > 4:
        card = get(document, path[:5])
        return "rate card", card.get("key") if isinstance(card, dict) else None
    if pat[:2] == ("plan", "phases") and len(path) > 2:
        phase = get(document, path[:3])
        return "phase", phase.get("key") if isinstance(phase, dict) else None
    if path and path[0] in ("plan", "subscription", "customer"):
        section = document.get(path[0])
        key_field = "id" if path[0] == "subscription" else "key"
        return path[0], section.get(key_field) if isinstance(section, dict) else None
    return "", None


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(document: Any) -> bytes | None:
    """``document`` as a YAML file's bytes, or None when YAML cannot hold it (an integer past Python's
    4 300-digit conversion limit cannot be written as text at all)."""
    try:
        text = yaml.dump(document, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1_000_000)
    except ValueError:
        return None
    return text.encode("utf-8")


def nesting(document: Any) -> int:
    """How many lists and mappings deep ``document`` is (computed without recursion)."""
    deepest = 0
    stack = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def without_megabytes(document: Any, limit: int = 1_000_000, replacement: int = 100_001) -> Any:
    """A copy with every string (value or key) over ``limit`` characters cut to ``replacement``: still
    past every length rule, but cheap to write and read back a few hundred times. The 10 MB cases run
    on documents directly and through the console script."""
    def cut(value: Any) -> Any:
        return value[:replacement] if isinstance(value, str) and len(value) > limit else value

    if isinstance(document, dict):
        return {cut(key): without_megabytes(value, limit, replacement) for key, value in document.items()}
    if isinstance(document, list):
        return [without_megabytes(value, limit, replacement) for value in document]
    return cut(document)
