"""The value base of the patch vocabulary and ``Change[T]`` (reconciler.md §4.1, §4.3).

Every model here is a frozen pydantic model that rejects unknown fields. Some payloads embed billing
models that hold plain dicts (a new line's annotations, a charge intent's metadata), which pydantic's
default frozen hash cannot hash; ``Value.__hash__`` therefore hashes a frozen copy of the dumped
fields, so every patch, step and plan is a hashable value and equal values hash equally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return frozenset((key, _freeze(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, set):
        return frozenset(_freeze(item) for item in value)
    return value


class Value(BaseModel):
    """Frozen, strict about unknown fields, hashable even when a payload holds dicts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __hash__(self) -> int:
        return hash((type(self).__name__, _freeze(self.model_dump())))


class Change(Value, Generic[T]):
    """``old → new`` of one field. Whether ``old`` may equal ``new`` is the container's rule."""

    old: T
    new: T

    @property
    def changed(self) -> bool:
        return self.old != self.new


#: Ids, identities and names that may not be empty.
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]
