"""Phase participation, minimum billable time and the horizon loop (targetstate spec §5.2–§5.5).

The loop visits phases in phase order. A phase takes part when its cadence is non-empty and one of
its priced versions has a non-empty billable window (Q9); the participation test comes before the
loop's ``break`` (Q12). Each participating phase gets a limit derived from ``as_of``; the loop stops
after the first participating phase that ends at or after ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from subscriptions.models import SubscriptionItem
from subscriptions.timeline import PhaseCadence
from targetstate.errors import QueriedBeforeSubscriptionStart
from targetstate.generation import phase_candidates
from targetstate.schedule import Bounds, Schedule
from targetstate.timemath import truncate
from targetstate.versions import Candidate, LogFn


def billable_window(item: SubscriptionItem, cadence: PhaseCadence) -> tuple[dt.datetime, dt.datetime | None]:
    """``[truncate(active_from), truncate(effective_to)]`` of a version; open-ended when
    ``effective_to`` is None (§5.4)."""
    effective_to = Schedule.effective_to(item, cadence)
    return truncate(item.active_from), None if effective_to is None else truncate(effective_to)


def _has_window(item: SubscriptionItem, cadence: PhaseCadence) -> bool:
    if item.rate_card.price is None:
        return False
    start, end = billable_window(item, cadence)
    return end is None or end > start


def takes_part(cadence: PhaseCadence) -> bool:
    """§5.2: a non-empty phase cadence and a priced version with a non-empty billable window."""
    if cadence.end is not None and cadence.end <= cadence.start:
        return False
    return any(_has_window(v, cadence) for versions in cadence.phase.items_by_key.values() for v in versions)


def minimum_billable_time(cadence: PhaseCadence) -> dt.datetime:
    """§5.4: the earliest window start among the priced versions with a non-empty window.

    Only called for participating phases, so such a version exists and the value is finite.
    """
    return min(
        billable_window(v, cadence)[0]
        for versions in cadence.phase.items_by_key.values()
        for v in versions
        if _has_window(v, cadence)
    )


class LoopResult(NamedTuple):
    candidates: list[Candidate]
    took_part: bool
    #: The maximum of the participating phases' limits; None when no phase took part.
    max_limit: dt.datetime | None


def run_phase_loop(schedule: Schedule, as_of: dt.datetime, log: LogFn) -> LoopResult:
    """The loop of §5.3. ``billing_period_at(as_of)`` is evaluated lazily, once, when the first
    participating phase is reached."""
    sub = schedule.subscription
    candidates: list[Candidate] = []
    max_limit: dt.datetime | None = None
    took_part = False
    as_of_billing: Bounds | None | bool = False  # False: not evaluated yet; None: before the start
    for cadence in schedule.cadences:
        if not takes_part(cadence):
            continue  # tested before the break below (Q12)
        took_part = True
        if as_of_billing is False:
            try:
                as_of_billing = schedule.billing_bounds_at(as_of)
            except QueriedBeforeSubscriptionStart:
                as_of_billing = None
        limit = as_of
        if as_of_billing is None:
            limit = sub.active_from
        elif as_of != as_of_billing[0]:  # exact comparison, microseconds included
            limit = as_of_billing[1]
        if cadence.start > limit:
            limit = minimum_billable_time(cadence)
        candidates.extend(phase_candidates(schedule, cadence, limit, log))
        max_limit = limit if max_limit is None or limit > max_limit else max_limit
        if cadence.end is not None and cadence.end >= as_of:
            break  # later phases wait for a later sync
    return LoopResult(candidates, took_part, max_limit)
