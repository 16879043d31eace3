"""Broken and hostile YAML files: a clear ``SubscriptionValidationError`` naming the file, never a crash.

``load_setup_file`` reads text nobody checked: cut-off files, stray YAML syntax, tabs, documents that are
not mappings, repeated keys, nesting 100 000 levels deep (which overflows the C parser's stack),
"billion laughs" alias bombs, self-referring aliases, integers past Python's conversion limit, bytes
that are not UTF-8, files too large to read. The property corrupts the fixtures' text at random; the
examples pin each hostile shape to its message.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from subscriptions.errors import SubscriptionValidationError
from subscriptions.setup import MAX_FILE_BYTES, load_setup_file, parse_subscription
from subscriptions.setup_yaml import MAX_DEPTH
from tests.badinput.checks import assert_clear, message_problems
from tests.badinput.documents import FIXTURES
from tests.badinput.scale import budget, tally

FIXTURE_TEXTS = tuple(path.read_bytes() for path in sorted(FIXTURES.rglob("*.yaml")))
YAML_SIGNIFICANT = [":", "-", "- ", "[", "]", "{", "}", ",", "&a", "*a", "*undefined", "!", "!!binary", "!!python/object:os.system",
                    "|", ">", "'", '"', "\t", "\n", "  ", "#", "%YAML 1.1\n", "@", "`", "?", "<<: *a", "---\n", "...\n",
                    "\x00", "\x85", "\ufeff", "\u2028", "~", "9" * 5000, "&a [*a]", "&a {k: *a}"]

_WORKDIR = Path(tempfile.mkdtemp(prefix="badinput-yaml-"))
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)


def _write(data: bytes) -> Path:
    handle, name = tempfile.mkstemp(suffix=".yaml", dir=_WORKDIR)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    return Path(name)


@st.composite
def corrupted_texts(draw):  # type: ignore[no-untyped-def]
    data = bytearray(draw(st.sampled_from(FIXTURE_TEXTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["truncate", "insert", "delete", "indent", "duplicate line", "byte"]))
        event(action)
        position = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if action == "truncate":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.one_of(st.sampled_from(YAML_SIGNIFICANT), st.text(max_size=5))).encode()
        elif action == "delete":
            del data[position:position + draw(st.integers(min_value=1, max_value=40))]
        elif action == "byte":
            data[position:position] = bytes([draw(st.integers(min_value=0x80, max_value=0xFF))])
        else:
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            if action == "indent":
                lines[index] = b" " * draw(st.integers(min_value=1, max_value=3)) + lines[index]
            else:
                lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@budget("malformed_yaml_text")
@given(corrupted_texts())
def test_a_corrupted_file_reads_or_fails_cleanly(data: bytes):
    tally("malformed_yaml_text")
    path = _write(data)
    try:
        view = parse_subscription(load_setup_file(path), clock=None)
    except SubscriptionValidationError as error:
        event("rejected")
        problems = message_problems(str(error))
        assert not problems, f"{'; '.join(problems)}: {str(error)[:300]}"
    else:
        event("still valid")
        assert view.phases
    finally:
        path.unlink()


def _nested(depth: int) -> bytes:
    return b"name: x\nplan: " + b"[" * depth + b"]" * depth + b"\n"


def _laughs(levels: int) -> bytes:
    lines = ["x_0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x_{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return ("\n".join(lines) + "\n").encode()


HOSTILE_FILES = {
    "a list": (b"- plan: {}\n- plan: {}\n", "a setup file holds a mapping of setup keys, got list"),
    "a scalar": (b"just text\n", "got str"),
    "empty": (b"", "got NoneType"),
    "only a comment": (b"# nothing\n", "got NoneType"),
    "two documents": (b"name: a\n---\nname: b\n", "not valid YAML at line 2"),
    "broken flow": (b"plan: {phases: [\n", "not valid YAML"),
    "a tab for indentation": (b"plan:\n\tkey: x\n", "not valid YAML at line 2"),
    "a python tag": (b"plan: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    "an undefined alias": (b"plan: *nowhere\n", "found undefined alias"),
    "a repeated key": (b"name: a\nplan: {}\nname: b\n", "found the key 'name' twice (first at line 1)"),
    "a repeated nested key": (b"plan:\n  phases: []\n  key: p\n  key: q\n", "found the key 'key' twice"),
    "an integer of 5000 digits": (b"plan:\n  version: " + b"9" * 5000 + b"\n", "an integer of 5000 characters is too large"),
    f"nesting {MAX_DEPTH + 1} deep": (_nested(MAX_DEPTH), f"nested more than {MAX_DEPTH} levels deep"),
    "nesting 100 000 deep": (_nested(100_000), f"nested more than {MAX_DEPTH} levels deep"),
    "a billion laughs": (_laughs(9), "with its aliases expanded"),
    "a self-referring alias": (b"plan: &a {phases: [*a]}\n", "refers to a collection that contains it"),
    "latin-1 bytes": ("name: Café\n".encode("latin-1"), "is not UTF-8 text"),
    "a UTF-16 file": ("name: x\n".encode("utf-16"), "is not UTF-8 text"),
}


@pytest.mark.parametrize("data, expected", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_a_hostile_file_is_refused_naming_the_file(data: bytes, expected: str):
    path = _write(data)
    with pytest.raises(Exception) as raised:
        parse_subscription(load_setup_file(path), clock=None)
    assert_clear(raised.value, SubscriptionValidationError, (str(path), expected))


def test_merge_keys_may_still_be_overridden():
    """``<<:`` merges a mapping and later keys override it: YAML's rule, not a repeated key."""
    path = _write(b"clock: 2024-01-01T00:00:00Z\nplan:\n  phases:\n    - &card_phase\n      key: a\n      duration: P1M\n"
                  b"    - <<: *card_phase\n      key: b\n      duration: null\n")
    view = parse_subscription(load_setup_file(path), clock=None)
    assert [phase.key for phase in view.phases] == ["a", "b"]


def test_aliases_within_the_limit_are_expanded():
    path = _write(b"clock: 2024-01-01T00:00:00Z\nplan:\n  phases:\n    - key: a\n      duration: P1M\n"
                  b"      rate_cards: &cards [{key: fee, type: flat_fee, price: {type: flat, amount: '5'}}]\n"
                  b"    - key: b\n      rate_cards: *cards\n")
    view = parse_subscription(load_setup_file(path), clock=None)
    assert [list(phase.items_by_key) for phase in view.phases] == [["fee"], ["fee"]]


def test_a_file_over_the_size_limit_is_refused_before_parsing():
    path = _write(b"name: " + b"x" * (MAX_FILE_BYTES + 1) + b"\n")
    try:
        with pytest.raises(SubscriptionValidationError) as raised:
            load_setup_file(path)
        assert_clear(raised.value, SubscriptionValidationError, (str(path), "is larger than 32 MiB"))
    finally:
        path.unlink()


@pytest.mark.parametrize("make", [lambda p: p / "missing.yaml", lambda p: p], ids=["missing", "a directory"])
def test_an_unreadable_path_is_refused(make):
    path = make(_WORKDIR)
    with pytest.raises(SubscriptionValidationError) as raised:
        load_setup_file(path)
    assert_clear(raised.value, SubscriptionValidationError, (str(path), "cannot read the file"))
