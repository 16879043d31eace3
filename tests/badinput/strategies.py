"""Hypothesis strategies that turn a valid setup document into a malformed one.

Each strategy draws a base document (``documents.fixture_documents``), corrupts one place and returns a
``Mutation``: the document, what was done, and the words a good error message must contain (the field
and the object it belongs to). Every mutation drawn by ``malformed`` is invalid by the rules of
scenario-format §1 and targetstate §2–§3, so the property can insist on a rejection; ``anything`` also
draws corruptions that may happen to stay valid. The values come from ``values``, the targeted fields
and helpers from ``mutation``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from hypothesis import strategies as st

from subscriptions.display import show
from subscriptions.duration import Duration
from tests.badinput.documents import base_setup, delete, get, in_setup, in_unit_config, pattern, put, walk
from tests.badinput.mutation import (
    AMOUNT_FIELDS,
    CADENCE_FIELDS,
    CARD,
    ENUMS,
    INSTANT_FIELDS,
    KEY_FIELDS,
    PROFILE_DURATIONS,
    TEXT_FIELDS,
    Mutation,
    at_fields,
    documents,
    leaf_word,
    mentions_for,
    pick,
)
from tests.badinput.values import (
    BAD_AMOUNTS,
    BAD_CUSTOM_CODES,
    BAD_DURATIONS,
    BAD_FIAT,
    BAD_INSTANTS,
    BAD_PRICES,
    CADENCE_CANDIDATES,
    SHORT_CADENCES,
    TEN_MB,
    ZERO_DURATIONS,
    deep_junk,
    hostile_keys,
    junk_containers,
    junk_keys,
    junk_scalars,
    ten_mb_strings,
)

__all__ = ["MALFORMED_FAMILIES", "Mutation", "TEN_MB", "anything", "huge_strings", "malformed"]


# -- the families of malformed documents -----------------------------------------------------------------

@st.composite
def bad_keys(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("keys", at_fields(KEY_FIELDS)))
    value = draw(hostile_keys)
    mentions = mentions_for(document, path, KEY_FIELDS[pattern(path)])
    put(document, path, value)
    return Mutation(name, document, "bad key", path, mentions, note=show(value))


@st.composite
def bad_amounts(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("amounts", at_fields(AMOUNT_FIELDS)))
    choices = list(BAD_AMOUNTS) + (["100.01", "150", 101] if path[-1] == "percentage" else [])
    choices += ["0", "-0.5"] if path[-1] == "quantity_per_package" else []
    value = draw(st.one_of(
        st.sampled_from(choices),
        st.decimals(max_value="-0.000001", allow_nan=False, allow_infinity=False, places=6).map(str),
        st.integers(min_value=10**15, max_value=10**60).map(str),
        st.floats(allow_nan=True, allow_infinity=True),
    ))
    mentions = mentions_for(document, path, leaf_word(path))
    put(document, path, value)
    return Mutation(name, document, "bad amount", path, mentions, note=show(value))


@st.composite
def bad_durations(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("durations", at_fields(CADENCE_FIELDS | PROFILE_DURATIONS)))
    pat = pattern(path)
    choices = list(BAD_DURATIONS)
    if pat in CADENCE_FIELDS:
        choices += ZERO_DURATIONS
    if pat == CARD + ("billing_cadence",):
        choices += SHORT_CADENCES
        plan_cadence = Duration.parse(document["plan"].get("billing_cadence", "P1M"))
        choices += [c for c in CADENCE_CANDIDATES if not Duration.parse(c).aligned_with(plan_cadence)]
    value = draw(st.sampled_from(choices))
    mentions = mentions_for(document, path, leaf_word(path))
    put(document, path, value)
    return Mutation(name, document, "bad duration", path, mentions, note=show(value))


@st.composite
def misaligned_plan_cadence(draw):  # type: ignore[no-untyped-def]
    """The plan cadence changed so that a rate card's cadence no longer divides it (nor it the card's)."""
    def has_cadenced_card(path, value, document):  # type: ignore[no-untyped-def]
        return path == ("plan",) and any(
            pattern(p) == CARD + ("billing_cadence",) for p, _ in walk(document) if p[:1] == ("plan",))

    name, document, _path = draw(pick("cadenced plan", has_cadenced_card))
    cards = [Duration.parse(v) for p, v in walk(document) if pattern(p) == CARD + ("billing_cadence",)]
    candidates = [c for c in CADENCE_CANDIDATES if any(not card.aligned_with(Duration.parse(c)) for card in cards)]
    value = draw(st.sampled_from(candidates))
    put(document, ("plan", "billing_cadence"), value)
    return Mutation(name, document, "misaligned plan cadence", ("plan", "billing_cadence"),
                    ("billing_cadence", "not aligned"), note=value)


@st.composite
def bad_instants(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("instants", at_fields(INSTANT_FIELDS)))
    value = draw(st.sampled_from(BAD_INSTANTS))
    mentions = mentions_for(document, path, path[-1])
    put(document, path, value)
    return Mutation(name, document, "bad instant", path, mentions, note=show(value))


@st.composite
def ends_before_start(draw):  # type: ignore[no-untyped-def]
    name = draw(documents)
    document = copy.deepcopy(base_setup(name))
    sub = document.setdefault("subscription", {})
    start_text = sub.get("start") or document["clock"]
    start = dt.datetime.fromisoformat(start_text.replace("Z", "+00:00"))
    gap = draw(st.timedeltas(min_value=dt.timedelta(microseconds=1), max_value=dt.timedelta(days=3650)))
    end = (start - gap).isoformat().replace("+00:00", "Z")
    sub["end"] = end
    return Mutation(name, document, "ends before it starts", ("subscription", "end"), ("ends before it starts",), note=end)


@st.composite
def bad_enums(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("enums", at_fields(ENUMS)))
    allowed = ENUMS[pattern(path)]
    value = draw(st.one_of(
        st.sampled_from(["dynamic", "FLAT", "Flat", "flat ", " usage_based", "in advance", "in-arrears", "monthly",
                         "graduated\n", "credit", "bill_partial_period", "none ", "null", "true", "0", "'; DROP"]),
        st.text(max_size=20),
        ten_mb_strings,
    ).filter(lambda v: v not in allowed))
    word = "price" if pattern(path)[-2:] == ("price", "type") else leaf_word(path)
    mentions = mentions_for(document, path, word)
    put(document, path, value)
    return Mutation(name, document, "unknown enum", path, mentions, note=show(value))


def _required(path: tuple[Any, ...], value: Any, document: dict[str, Any]) -> bool:
    pat = pattern(path)
    if pat in {("plan",), ("plan", "phases"), ("plan", "phases", "*", "key"), CARD + ("key",), CARD + ("type",),
               ("meters", "*", "key"), ("currencies", "*", "code")}:
        return True
    if pat[:-1] == CARD + ("price",) and isinstance(get(document, path[:-1]), dict):
        price = get(document, path[:-1])
        needed = {"flat": {"amount"}, "unit": {"amount"}, "package": {"amount", "quantity_per_package"},
                  "tiered": {"mode", "tiers"}}.get(price.get("type"), set()) | {"type"}
        return path[-1] in needed
    if pat == ("plan", "phases", "*", "duration"):
        return path[2] < len(document["plan"]["phases"]) - 1
    if pat == CARD + ("billing_cadence",):
        card = get(document, path[:-1])
        price = card.get("price")
        return card.get("type") == "usage_based" or (isinstance(price, dict) and price.get("type") != "flat")
    return False


@st.composite
def missing_required(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("required", _required))
    pat = pattern(path)
    word = {("meters", "*", "key"): "meters[", ("currencies", "*", "code"): "currencies["}.get(pat)
    if word is None:
        word = "price" if path[-1] == "type" and pat[-2] == "price" else leaf_word(path)
    mentions = mentions_for(document, path, word)
    delete(document, path)
    return Mutation(name, document, "missing required field", path, mentions)


def _unknown_key_target(path: tuple[Any, ...], value: Any, _document: dict[str, Any]) -> bool:
    if not isinstance(value, dict) or in_unit_config(path) or (path and path[-1] == "unit_config"):
        return False
    return path == () or (in_setup(path) and path[0] not in ("meters", "currencies"))


@st.composite
def unknown_keys(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("mappings", _unknown_key_target))
    key = draw(junk_keys)
    value = draw(st.one_of(junk_scalars, st.none(), st.just("x")))
    mentions = ("unknown field",) + (mentions_for(document, path + (key,))[:1] if path else ())
    get(document, path)[key] = value
    return Mutation(name, document, "unknown key", path + (key,), mentions)


def _replaceable(path: tuple[Any, ...], value: Any, _document: dict[str, Any]) -> bool:
    return bool(path) and in_setup(path) and not in_unit_config(path)


@st.composite
def wrong_types(draw):  # type: ignore[no-untyped-def]
    """A scalar replaced by a junk container, a container by a junk scalar."""
    name, document, path = draw(pick("replaceable", _replaceable))
    old = get(document, path)
    if isinstance(old, (dict, list)):
        value = draw(st.one_of(
            st.integers(), st.floats(), st.booleans(), st.text(alphabet="qjz#%", min_size=1, max_size=10)))
    else:
        value = draw(junk_containers)
    # A list of junk under plan.phases is reported at its first phase, which names itself (not the plan).
    mentions = mentions_for(document, path, _word_for(path)) if path != ("plan", "phases") else (("phases", "phase"),)
    put(document, path, value)
    return Mutation(name, document, "wrong type", path, mentions, note=show(value))


#: A list field replaced by a list of junk is reported at its first element, by the element's noun.
_ELEMENT_NOUNS = {"phases": "phase", "rate_cards": "rate card", "tiers": "tiers["}


def _word_for(path: tuple[Any, ...]) -> str | tuple[str, ...]:
    pat = pattern(path)
    if pat[:1] in (("meters",), ("currencies",)):
        return path[0]
    if pat[-2:] == ("price", "type"):
        return "price"
    if path[-1] in _ELEMENT_NOUNS:
        return (path[-1], _ELEMENT_NOUNS[path[-1]])
    return leaf_word(path) if isinstance(path[-1], str) else ""


@st.composite
def deep_nesting(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("replaceable", _replaceable))
    value = deep_junk(draw(st.integers(min_value=5, max_value=500)), draw(st.sampled_from(["list", "dict"])))
    mentions = mentions_for(document, path, _word_for(path)) if path != ("plan", "phases") else (("phases", "phase"),)
    put(document, path, value)
    return Mutation(name, document, "deeply nested junk", path, mentions)


def _string_leaf(path: tuple[Any, ...], value: Any, _document: dict[str, Any]) -> bool:
    return isinstance(value, str) and bool(path) and in_setup(path)


@st.composite
def huge_strings(draw):  # type: ignore[no-untyped-def]
    """A string field holding 10 MB (or just past every limit): rejected, and not echoed back."""
    name, document, path = draw(pick("strings", _string_leaf))
    value = draw(st.sampled_from([TEN_MB, "é" * 10_001, "\x00" * 20_000, "1" * 100_000, "P" + "1" * 50_000 + "M"]))
    mentions = mentions_for(document, path, _word_for(path))
    put(document, path, value)
    return Mutation(name, document, "huge string", path, mentions, note=f"{len(value)} characters")


@st.composite
def duplicates(draw):  # type: ignore[no-untyped-def]
    name = draw(documents)
    document = copy.deepcopy(base_setup(name))
    phases = document["plan"]["phases"]
    if draw(st.booleans()):
        index = draw(st.integers(min_value=0, max_value=len(phases) - 1))
        twin = copy.deepcopy(phases[index])
        if index == len(phases) - 1:
            phases[index]["duration"] = "P1M"  # no longer last: it needs one, so only the key is wrong
        phases.insert(index + 1, twin)
        return Mutation(name, document, "duplicate phase key", ("plan", "phases", index), ("duplicate phase key",))
    with_cards = [i for i, p in enumerate(phases) if p.get("rate_cards")]
    if not with_cards:
        phases[0]["rate_cards"] = [{"key": "fee", "type": "flat_fee"}] * 2
        return Mutation(name, document, "duplicate rate card key", ("plan", "phases", 0), ("duplicate rate card key",))
    index = draw(st.sampled_from(with_cards))
    cards = phases[index]["rate_cards"]
    card = draw(st.sampled_from(cards))
    cards.insert(draw(st.integers(min_value=0, max_value=len(cards))), copy.deepcopy(card))
    return Mutation(name, document, "duplicate rate card key", ("plan", "phases", index),
                    ("duplicate rate card key", repr(card["key"])))


@st.composite
def bad_prices(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("prices", lambda p, v, d: pattern(p) == CARD + ("price",)))
    price, word = draw(st.sampled_from(BAD_PRICES))
    mentions = mentions_for(document, path, word)
    put(document, path, copy.deepcopy(price))
    return Mutation(name, document, "bad price", path, mentions, note=show(price))


@st.composite
def bad_currencies(draw):  # type: ignore[no-untyped-def]
    name = draw(documents)
    document = copy.deepcopy(base_setup(name))
    if draw(st.booleans()):
        value = draw(st.sampled_from(BAD_FIAT))
        document["plan"]["currency"] = value
        return Mutation(name, document, "non-fiat plan currency", ("plan", "currency"), ("currency", "plan"))
    code = draw(st.sampled_from(BAD_CUSTOM_CODES))
    document["currencies"] = [{"code": code, "precision": 2}]
    return Mutation(name, document, "bad custom currency code", ("currencies", 0, "code"), ("currencies[0]",))


@st.composite
def feature_without_meter(draw):  # type: ignore[no-untyped-def]
    name, document, path = draw(pick("features", lambda p, v, d: pattern(p) == CARD + ("feature",)))
    value = draw(st.sampled_from(["no-such-meter", "api-requests", "storage"]).filter(
        lambda v: v not in {m.get("key") for m in (document.get("meters") or [{"key": "api-requests-total"}])}))
    mentions = mentions_for(document, path, "feature", "no meter")
    put(document, path, value)
    return Mutation(name, document, "feature without meter", path, mentions)


@st.composite
def control_characters(draw):  # type: ignore[no-untyped-def]
    """NUL and other control characters in free text: PostgreSQL stores neither in text nor in JSON."""
    name, document, path = draw(pick("texts", at_fields(TEXT_FIELDS)))
    char = draw(st.sampled_from(["\x00", "\x1b", "\x07", "\x7f", "\x85", "\x9b", "\x0b"]))
    old = get(document, path)
    at = draw(st.integers(min_value=0, max_value=len(old)))
    mentions = mentions_for(document, path, TEXT_FIELDS[pattern(path)], "control characters")
    put(document, path, old[:at] + char + old[at:])
    return Mutation(name, document, "control character", path, mentions, note=repr(char))


MALFORMED_FAMILIES = {
    "control character": control_characters(),
    "bad key": bad_keys(),
    "bad amount": bad_amounts(),
    "bad duration": bad_durations(),
    "misaligned plan cadence": misaligned_plan_cadence(),
    "bad instant": bad_instants(),
    "ends before it starts": ends_before_start(),
    "unknown enum": bad_enums(),
    "missing required field": missing_required(),
    "unknown key": unknown_keys(),
    "wrong type": wrong_types(),
    "deeply nested junk": deep_nesting(),
    "duplicate": duplicates(),
    "bad price": bad_prices(),
    "bad currency": bad_currencies(),
    "feature without meter": feature_without_meter(),
}

#: A malformed setup document of any family (huge strings have their own, smaller budget).
malformed = st.one_of(*MALFORMED_FAMILIES.values())


@st.composite
def anything(draw):  # type: ignore[no-untyped-def]
    """Any corruption of any node, including the sections other readers own and values that may happen
    to be valid (a far-future start, a different valid string, a removed optional field)."""
    name = draw(documents)
    document = copy.deepcopy(base_setup(name))
    paths = [p for p, _ in walk(document) if p]
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(["replace", "delete", "null", "far instant"]))
    if action == "delete":
        delete(document, path)
    elif action == "null":
        put(document, path, None)
    elif action == "far instant":
        put(document, path, draw(st.sampled_from(["9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z",
                                                  "9999-12-31T23:59:59+00:00", "1970-01-01T00:00:00Z"])))
    else:
        put(document, path, draw(st.one_of(junk_scalars, hostile_keys.filter(lambda v: len(v) < 1000),
                                           st.builds(lambda: _small_junk()), st.sampled_from(BAD_AMOUNTS[:-1]),
                                           st.sampled_from(BAD_DURATIONS[:-1]), st.sampled_from(BAD_INSTANTS[:-1]))))
    return Mutation(name, document, f"anything: {action}", path)


def _small_junk() -> Any:
    return {"junk": [1, {"deeper": [None, True, "x"]}]}
