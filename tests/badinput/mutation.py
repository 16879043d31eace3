"""A corrupted document (``Mutation``), the fields each kind of corruption targets, and the helpers that
pick a place in a base document and name what an error about it must say."""

from __future__ import annotations

import copy
from typing import Any, Callable

from hypothesis import strategies as st

from tests.badinput.documents import base_names, base_setup, owner, pattern, walk
from tests.badinput.values import KEY_RE

class Mutation:
    """A corrupted document: its base, what was done where, and the words a good error must contain.

    Not a dataclass on purpose: hypothesis prints a failing example with ``repr``, and a document may
    hold 10 MB.
    """

    def __init__(self, base: str, document: dict[str, Any], kind: str, path: tuple[Any, ...] = (),
                 mentions: tuple[str, ...] = (), note: str = "") -> None:
        self.base = base
        self.document = document
        self.kind = kind
        self.path = tuple(p[:40] + "…" if isinstance(p, str) and len(p) > 40 else p for p in path)
        self.mentions = mentions
        self.note = note

    def __repr__(self) -> str:
        return (f"Mutation(base={self.base!r}, kind={self.kind!r}, path={self.path!r}, "
                f"mentions={self.mentions!r}, note={self.note[:200]!r})")


# -- the fields each corruption targets --------------------------------------------------------------

ENUMS: dict[tuple[Any, ...], frozenset[Any]] = {
    ("plan", "phases", "*", "rate_cards", "*", "type"): frozenset({"flat_fee", "usage_based"}),
    ("plan", "phases", "*", "rate_cards", "*", "price", "type"): frozenset({"flat", "unit", "tiered", "package"}),
    ("plan", "phases", "*", "rate_cards", "*", "price", "payment_term"): frozenset({"in_advance", "in_arrears", "", None}),
    ("plan", "phases", "*", "rate_cards", "*", "price", "mode"): frozenset({"graduated", "volume"}),
    ("plan", "phases", "*", "rate_cards", "*", "tax", "behavior"): frozenset({"exclusive", "inclusive", "none", None}),
    ("plan", "settlement_mode"): frozenset({"credit_then_invoice", "credit_only"}),
    ("plan", "pro_rating", "mode"): frozenset({"prorate_prices"}),
    ("customer", "billing_profile", "collection", "alignment"): frozenset({"subscription"}),
    ("customer", "billing_profile", "invoicing", "subscription_end_proration_mode"):
        frozenset({"bill_actual_period", "bill_full_period"}),
}
#: Where a key goes (and the word a message uses for the field).
KEY_FIELDS = {
    ("plan", "key"): "key",
    ("plan", "phases", "*", "key"): "key",
    ("plan", "phases", "*", "rate_cards", "*", "key"): "key",
    ("plan", "phases", "*", "rate_cards", "*", "feature"): "feature",
    ("subscription", "id"): "id",
    ("customer", "key"): "key",
    ("meters", "*", "key"): "meters[",
}
CARD = ("plan", "phases", "*", "rate_cards", "*")
AMOUNT_FIELDS = {
    CARD + ("price", "amount"), CARD + ("price", "quantity_per_package"), CARD + ("price", "minimum_amount"),
    CARD + ("price", "maximum_amount"), CARD + ("price", "tiers", "*", "up_to"),
    CARD + ("price", "tiers", "*", "unit_price"), CARD + ("price", "tiers", "*", "flat_price"),
    CARD + ("discounts", "percentage"), CARD + ("discounts", "usage"),
}
#: Durations that must be positive (cadences, phase durations) and those that may be zero.
CADENCE_FIELDS = {("plan", "billing_cadence"), CARD + ("billing_cadence",), ("plan", "phases", "*", "duration")}
PROFILE_DURATIONS = {
    ("customer", "billing_profile", "collection", "interval"),
    ("customer", "billing_profile", "invoicing", "draft_period"),
    ("customer", "billing_profile", "invoicing", "due_after"),
}
INSTANT_FIELDS = {("subscription", "start"), ("subscription", "billing_anchor"), ("subscription", "end"), ("clock",)}


#: Free-text fields: names (no control character at all) and descriptions (tabs and line breaks allowed).
TEXT_FIELDS = {
    ("name",): "name", ("description",): "description", ("customer", "name"): "name",
    ("subscription", "name"): "name", ("plan", "name"): "name", ("plan", "description"): "description",
    ("plan", "phases", "*", "name"): "name", ("plan", "phases", "*", "description"): "description",
    CARD + ("name",): "name", CARD + ("description",): "description", CARD + ("tax", "code"): "code",
}


# -- helpers ---------------------------------------------------------------------------------------------

documents = st.sampled_from(base_names())


#: Paths of whole objects: an error about the object itself cannot name it by a key it may not have.
_OBJECTS = {("plan",), ("subscription",), ("customer",), ("plan", "phases", "*"), ("plan", "phases", "*", "rate_cards", "*")}


def mentions_for(document: dict[str, Any], path: tuple[Any, ...], *fields: str | tuple[str, ...]) -> tuple[str | tuple[str, ...], ...]:
    """The field words plus the owning object's noun and, when the message can know it, its key."""
    noun, key = owner(document, path)
    words = [f for f in fields if f]
    if noun:
        words.append(noun)
        names_itself = pattern(path) in _OBJECTS or (
            pattern(path[:-1]) in _OBJECTS and path[-1] in ("key", "id"))
        if not names_itself and isinstance(key, str) and KEY_RE.fullmatch(key) and len(key) <= 64:
            words.append(repr(key))
    return tuple(words)


def leaf_word(path: tuple[Any, ...]) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return {"feature_key": "feature", "tax_config": "tax"}.get(part, part)
    return ""


_CANDIDATES: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}


def pick(family: str, accept: Callable[[tuple[Any, ...], Any, dict[str, Any]], bool]) -> st.SearchStrategy[tuple[str, dict[str, Any], tuple[Any, ...]]]:
    """A base document (a fresh copy) and one path in it that ``accept`` takes; the candidate paths of
    every base are listed once per ``family``."""
    def candidates() -> list[tuple[str, tuple[Any, ...]]]:
        found = _CANDIDATES.get(family)
        if found is None:
            found = [(name, path) for name in base_names() for path, value in walk(base_setup(name))
                     if accept(path, value, base_setup(name))]
            assert found, "no base document has a path for this mutation"
            _CANDIDATES[family] = found
        return found

    return st.deferred(lambda: st.sampled_from(candidates())).map(
        lambda pair: (pair[0], copy.deepcopy(base_setup(pair[0])), pair[1]))


def at_fields(fields: set[tuple[Any, ...]] | dict[tuple[Any, ...], Any]) -> Callable[[tuple[Any, ...], Any, dict[str, Any]], bool]:
    return lambda path, _value, _doc: pattern(path) in fields
