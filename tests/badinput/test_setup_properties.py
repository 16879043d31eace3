"""Malformed setup documents are rejected by ``subscriptions`` with one clear error naming the field.

``parse_subscription`` (what every reader of a setup calls) gets thousands of corrupted copies of the
fixtures: wrong types at every level, missing and unknown keys, unknown enums, negative, huge, NaN and
float amounts, non-ISO, zero, negative and misaligned cadences, naive and sub-microsecond instants,
periods ending before they start, hostile keys (unicode, slashes, SQL, 65+ characters, empty), deeply
nested junk, duplicate phase and rate-card keys, 10 MB strings. Each must raise
``SubscriptionValidationError`` — never ``KeyError``, ``TypeError``, ``AttributeError``,
``RecursionError``, ``OverflowError`` or a bare pydantic error — whose one-line message names the field
and the object it belongs to, and stays short whatever the input held.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import event, given

from subscriptions.errors import SubscriptionValidationError
from subscriptions.setup import parse_subscription
from tests.badinput.checks import assert_clear, message_problems
from tests.badinput.documents import base, base_names, setup_only
from tests.badinput.scale import budget, tally
from tests.badinput.strategies import Mutation, anything, huge_strings, malformed


def _parse(mutation: Mutation):  # type: ignore[no-untyped-def]
    return parse_subscription(setup_only(mutation.document), clock=None)


@pytest.mark.parametrize("name", base_names())
def test_every_base_document_is_valid(name):
    """The mutations start from valid documents, so a rejection is the mutation's doing."""
    view = parse_subscription(setup_only(base(name)), clock=None)
    assert view.phases


@budget("malformed_setup")
@given(malformed)
def test_a_malformed_setup_is_rejected_naming_the_field(mutation: Mutation):
    tally("malformed_setup")
    event(mutation.kind)
    original = copy.deepcopy(mutation.document)
    with pytest.raises(Exception) as raised:
        _parse(mutation)
    assert_clear(raised.value, SubscriptionValidationError, mutation.mentions, context=mutation)
    assert mutation.document == original, "parsing changed its input"


@budget("huge_strings")
@given(huge_strings())
def test_a_huge_string_is_rejected_without_echoing_it(mutation: Mutation):
    tally("huge_strings")
    event(f"{mutation.path[-1] if mutation.path else ''}")
    with pytest.raises(Exception) as raised:
        _parse(mutation)
    assert_clear(raised.value, SubscriptionValidationError, mutation.mentions, context=mutation)


@budget("arbitrary_mutation")
@given(anything())
def test_any_corruption_parses_or_fails_cleanly(mutation: Mutation):
    """Corruptions that may stay valid (a far-future start, a removed optional field, a junk value where
    another reader owns the key): either a view, or the package's own clear error."""
    tally("arbitrary_mutation")
    try:
        view = _parse(mutation)
    except SubscriptionValidationError as error:
        event("rejected")
        problems = message_problems(str(error))
        assert not problems, f"{'; '.join(problems)}: {str(error)[:300]} ({mutation})"
    else:
        event("accepted")
        assert view.subscription.id
