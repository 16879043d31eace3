"""The continuity correction (targetstate spec §5.10; reconciler spec §2.6).

When billing holds an *ignored* line (annotation ``sync.ignore``) that also asks for continuous lines
(``force-continuous-lines``), the next period of the same phase, key and version starts where that
line ends. Persisted state reaches the builder only through the ``PersistedLookup`` port.
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping, Protocol

from targetstate.errors import InvalidPeriodError
from targetstate.items import identity
from targetstate.timemath import require_utc, truncate
from targetstate.versions import Candidate

IGNORE = "billing.subscription.sync.ignore"
FORCE_CONTINUOUS = "billing.subscription.sync.force-continuous-lines"


class PersistedRecord(Protocol):
    """What the correction reads of one persisted artifact (line, split-line group or charge)."""

    managed_by_subscription: bool
    annotations: Mapping[str, object]
    service_period_end: dt.datetime


class PersistedLookup(Protocol):
    """The port to persisted state: the record held under an identity, if any."""

    def get(self, identity: str) -> PersistedRecord | None: ...


class NoPersistedState:
    """A lookup that holds nothing: builds for display, tests and fresh subscriptions."""

    def get(self, identity: str) -> PersistedRecord | None:
        return None


NO_PERSISTED_STATE: PersistedLookup = NoPersistedState()


def _is_set(record: PersistedRecord, annotation: str) -> bool:
    """An annotation is set when its value is the boolean ``True``."""
    return record.annotations.get(annotation) is True


def correct_continuity(
    candidates: list[Candidate], persisted: PersistedLookup, subscription_id: str
) -> list[Candidate]:
    """Apply §5.10 to every truncated recurring candidate with ``period_index > 0``.

    Each correction reads only the persisted state and the candidate itself, so the order does not
    matter. Raises ``InvalidPeriodError`` when a correction cannot apply (step 4) or would invert a
    period (step 6, the guard).
    """
    if isinstance(persisted, NoPersistedState):
        return candidates  # nothing persisted, nothing to correct
    out: list[Candidate] = []
    for c in candidates:
        out.append(_correct(c, persisted, subscription_id) if c.period_index > 0 and not c.one_time else c)
    return out


def _correct(c: Candidate, persisted: PersistedLookup, subscription_id: str) -> Candidate:
    phase_key = c.cadence.phase.key
    own_id = identity(subscription_id, phase_key, c.item_key, c.version, c.period_index)
    own = persisted.get(own_id)
    if own is not None and own.managed_by_subscription and _is_set(own, IGNORE):
        return c  # step 1: billing keeps its own line for this period
    identity_prev = identity(subscription_id, phase_key, c.item_key, c.version, c.period_index - 1)
    prev = persisted.get(identity_prev)
    if prev is None or not prev.managed_by_subscription:
        return c
    if not (_is_set(prev, IGNORE) and _is_set(prev, FORCE_CONTINUOUS)):
        return c
    continuous_start = truncate(require_utc(prev.service_period_end, f"service_period_end of the persisted {identity_prev!r}"))
    if c.service[0] == continuous_start:
        return c
    if c.service[0] != c.full_service[0]:
        raise InvalidPeriodError(
            f"cannot make the period continuous with the previous ignored line (ending "
            f"{continuous_start.isoformat()}): its service period starts at {c.service[0].isoformat()}, "
            f"not at its full service period start {c.full_service[0].isoformat()}",
            phase_key=phase_key,
            item_key=c.item_key,
            version=c.version,
            identity=own_id,
        )
    billing = c.billing
    if c.full_service[0] == c.billing[0]:
        billing = (continuous_start, c.billing[1])
    corrected = c._replace(
        service=(continuous_start, c.service[1]),
        full_service=(continuous_start, c.full_service[1]),
        billing=billing,
    )
    for name, (start, end) in (
        ("service", corrected.service),
        ("full service", corrected.full_service),
        ("billing", corrected.billing),
    ):
        if end < start:
            raise InvalidPeriodError(
                f"the continuity correction would make the {name} period end before it starts "
                f"({end.isoformat()} < {start.isoformat()}); the persisted state is inconsistent",
                phase_key=phase_key,
                item_key=c.item_key,
                version=c.version,
                identity=own_id,
            )
    return corrected
