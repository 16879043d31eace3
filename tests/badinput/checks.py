"""What a clear rejection looks like, checked the same way everywhere.

A rejection is the reader's own error type (never ``KeyError``, ``TypeError``, ``AttributeError``,
``RecursionError`` or a bare pydantic error), its message is one line of at most ``MAX_MESSAGE``
characters (a 10 MB value is never echoed back), it carries no pydantic internals, and it names what the
test corrupted.
"""

from __future__ import annotations

from typing import Any, Iterable

from subscriptions.display import MESSAGE_LIMIT

#: Longest acceptable message (the package's own cap, plus the file name a reader may put in front).
MAX_MESSAGE = MESSAGE_LIMIT + 300
#: Text that only pydantic's own rendering of errors contains.
PYDANTIC_INTERNALS = ("errors.pydantic.dev", "[type=", "input_value=", "input_type=", "validation error for",
                      "function-after[", "function-before[", "Value error,")


def message_problems(message: str, mentions: Iterable[str | tuple[str, ...]] = ()) -> list[str]:
    """Why ``message`` is not a clear rejection message (empty: it is one). A mention is a word, or a
    tuple of words of which one must appear."""
    problems = []
    if not message.strip():
        problems.append("the message is empty")
    if len(message) > MAX_MESSAGE:
        problems.append(f"the message has {len(message)} characters (at most {MAX_MESSAGE})")
    if "\n" in message or "\r" in message:
        problems.append("the message spans several lines")
    if "Traceback" in message:
        problems.append("the message holds a traceback")
    for internal in PYDANTIC_INTERNALS:
        if internal in message:
            problems.append(f"the message shows pydantic's internals ({internal!r})")
    for token in mentions:
        alternatives = (token,) if isinstance(token, str) else tuple(token)
        if not any(alternative in message for alternative in alternatives):
            problems.append(f"the message does not name {' or '.join(map(repr, alternatives))}")
    return problems


def assert_clear(error: BaseException, expected: type[BaseException] | tuple[type[BaseException], ...],
                 mentions: Iterable[str | tuple[str, ...]] = (), context: Any = None) -> str:
    """``error`` is an ``expected`` error with a clear message naming every token of ``mentions``."""
    message = str(error)
    problems = [] if isinstance(error, expected) else [f"raised {type(error).__name__}, not {expected}"]
    problems += message_problems(message, mentions)
    shown = message if len(message) <= 400 else message[:400] + "…"
    assert not problems, f"{'; '.join(problems)}\nmessage: {shown}\ninput: {context}"
    return message
