"""The YAML of setup and scenario files: safe, timestamps kept as text, and bounded.

A setup file may come from anyone, so reading it must fail with a clear error, never crash or hang:

- only YAML's safe types are built (no Python objects);
- timestamps stay strings, because PyYAML drops sub-microsecond digits and turns ``2024-01-01`` into a
  date; instants are parsed later by name;
- a mapping may not repeat a key (PyYAML keeps the last one silently; ``price:`` written twice is a
  typo, not an override). Keys merged in with ``<<:`` may still be overridden, as YAML intends;
- nesting is at most ``MAX_DEPTH`` collections deep (PyYAML composes recursively: a file of 100 000
  ``[`` crashes the C parser and exhausts Python's recursion limit);
- the document, with every alias expanded, has at most ``MAX_NODES`` nodes (a "billion laughs" file is
  a few hundred bytes but expands to 10^9 nodes for every reader after the loader), and an alias may not
  refer to a collection that contains it;
- an integer too long for Python's int conversion limit is a YAML error at its position.

The events are checked in one pass before anything is built, with libyaml when it is installed.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

from subscriptions.display import show
from subscriptions.errors import SubscriptionValidationError

MAX_DEPTH = 64
MAX_NODES = 1_000_000

_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class SetupLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """A safe loader: timestamps stay text, a mapping may not repeat a key, huge integers are errors."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _value in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=False)
                if key in seen:
                    raise ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found the key {show(key)} twice (first at line {seen[key].line + 1})", key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise ConstructorError(
                None, None, f"an integer of {len(node.value)} characters is too large", node.start_mark
            ) from None


SetupLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SetupLoader.add_constructor("tag:yaml.org,2002:int", SetupLoader.construct_yaml_int)


def load_yaml_text(text: str, *, name: str) -> Any:
    """The one YAML document of ``text``; ``SubscriptionValidationError`` naming ``name`` otherwise."""
    try:
        check_structure(text, name=name)
        return yaml.load(text, Loader=SetupLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise SubscriptionValidationError(_yaml_problem(exc), obj=name) from None


def check_structure(text: str, *, name: str) -> None:
    """Refuse ``text`` when its nesting or its size with aliases expanded exceeds the bounds."""
    stack: list[list[Any]] = []  # per open collection: [anchor, expanded node count]
    sizes: dict[str, int] = {}  # anchor → expanded node count of the node it names
    open_anchors: set[str] = set()
    total = 0

    def add(count: int, event: Any) -> None:
        nonlocal total
        if stack:
            stack[-1][1] += count
            if stack[-1][1] > MAX_NODES:
                _too_big(name, event)
        else:
            total += count
            if total > MAX_NODES:
                _too_big(name, event)

    for event in yaml.parse(text, Loader=SetupLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise SubscriptionValidationError(
                    f"is nested more than {MAX_DEPTH} levels deep{_at(event)}", obj=name
                )
            stack.append([event.anchor, 1])
            if event.anchor is not None:
                open_anchors.add(event.anchor)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, count = stack.pop()
            if anchor is not None:
                open_anchors.discard(anchor)
                sizes[anchor] = count
            add(count, event)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1, event)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise SubscriptionValidationError(
                    f"the alias *{show(event.anchor)[1:-1]} refers to a collection that contains it{_at(event)}",
                    obj=name,
                )
            add(sizes.get(event.anchor, 1), event)  # an undefined alias is reported by the composer


def _too_big(name: str, event: Any) -> None:
    raise SubscriptionValidationError(
        f"holds more than {MAX_NODES:,} values with its aliases expanded{_at(event)}", obj=name
    )


def _at(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" (at line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where (line and column, or the character position) and what."""
    if isinstance(exc, yaml.reader.ReaderError):
        return f"not valid YAML at character {exc.position + 1}: {exc.reason}"  # e.g. a control character
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return " ".join(f"not valid YAML{where}: {problem}".split())
