"""The ``PersistedLookup`` port of the target builder (targetstate.md §5.10), over a ``PersistedState``.

Structural: targetstate declares the Protocols, this module only has to match them (it may not
import targetstate). Each record is built from the persisted artifact as follows:

- invoice line: the line's own ``managed_by == "subscription"`` and annotations; its service end;
- split-line group: ``managed_by`` and annotations of the hierarchy's *last line* (the first
  non-deleted child, in (start, end, id) order, ending at the group's end); with no such child,
  not managed and no annotations; the **group's** service end;
- charge: the base intent's ``managed_by == "subscription"`` and annotations; the base intent's
  service end.

Lines and groups come normalised (whole seconds) from the loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer, model_validator

from billing.types import UtcDatetime
from persistedstate.frozen import FrozenMap
from persistedstate.items import PersistedItem
from persistedstate.state import PersistedState


class PersistedLookupRecord(BaseModel):
    """One ``PersistedRecord``: ownership, the last line's annotations and the service end."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    managed_by_subscription: bool
    annotations: Mapping[str, Any]
    service_period_end: UtcDatetime

    @model_validator(mode="after")
    def _read_only(self) -> "PersistedLookupRecord":
        object.__setattr__(self, "annotations", FrozenMap(self.annotations))
        return self

    @field_serializer("annotations", mode="wrap")
    def _as_dict(self, value: Mapping[str, Any], handler: Any) -> Any:
        return handler(dict(value))

    @classmethod
    def of(cls, item: PersistedItem) -> "PersistedLookupRecord":
        return cls(
            managed_by_subscription=item.is_subscription_managed,
            annotations=dict(item.last_line_annotations),
            service_period_end=item.service_period.end,
        )


class PersistedStateLookup:
    """``get(identity)``: the record of the item held under ``identity``, or None."""

    def __init__(self, state: PersistedState) -> None:
        self._records: dict[str, PersistedLookupRecord] = {
            identity: PersistedLookupRecord.of(item) for identity, item in state.by_identity.items()
        }

    def get(self, identity: str) -> PersistedLookupRecord | None:
        return self._records.get(identity)


def lookup_of(state: PersistedState) -> PersistedStateLookup:
    return PersistedStateLookup(state)


__all__ = ["PersistedLookupRecord", "PersistedStateLookup", "lookup_of"]
