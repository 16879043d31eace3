"""Expanding item versions into candidate periods (targetstate spec §4.3, §4.4, §5.7, §5.8).

A *candidate* is a target item before wrapping (§5.11): plain instants, so the hot path builds no
models. Every rule here works on untruncated instants; the cutoff compares truncated ``invoice_at``
and limit (§5.6). ``emit`` then applies §5.9 to each kept period: it truncates the service period,
drops it when empty (the open-ended one-time flat instant excepted) and truncates the full service
and billing periods. A dropped period still consumes its index (Q11).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, NamedTuple

from subscriptions.models import SubscriptionItem
from subscriptions.prices import FlatPrice
from subscriptions.timeline import PhaseCadence
from targetstate.errors import InvalidPeriodError
from targetstate.schedule import Bounds, Schedule
from targetstate.timemath import truncate

#: Periods 0…1000 of a version at most (§5.8).
MAX_PERIOD_INDEX = 1000

#: ``log(level, event, **fields)``: the build's bound logger.
LogFn = Callable[..., None]


class Candidate(NamedTuple):
    """One would-be target item: its phase, key, version, period index and three periods."""

    cadence: PhaseCadence
    item_key: str
    version: int
    period_index: int
    item: SubscriptionItem
    service: Bounds
    full_service: Bounds
    billing: Bounds
    #: The version has no rate-card cadence.
    one_time: bool
    #: The version's effective range is open (``effective_to is None``).
    open_ended: bool


def pays_in_advance(item: SubscriptionItem) -> bool:
    price = item.rate_card.price
    return isinstance(price, FlatPrice) and price.payment_term == "in_advance"


def emit(
    out: list[Candidate],
    cadence: PhaseCadence,
    key: str,
    version: int,
    index: int,
    item: SubscriptionItem,
    service: Bounds,
    full: Bounds,
    billing: Bounds,
    one_time: bool,
    open_ended: bool,
    log: LogFn,
) -> None:
    """§5.9 for one period: truncate, drop an empty service period (logged), keep the rest."""
    s0, s1 = service
    start = s0 if s0.microsecond == 0 else s0.replace(microsecond=0)
    end = s1 if s1.microsecond == 0 else s1.replace(microsecond=0)
    if end <= start and not (one_time and open_ended and isinstance(item.rate_card.price, FlatPrice)):
        fields = dict(
            phase_key=cadence.phase.key,
            item_key=key,
            version=version,
            service_start=s0.isoformat(),
            service_end=s1.isoformat(),
        )
        if one_time:
            log("warning", "targetstate.degenerate_one_time_version", **fields)  # Q4
        else:
            log("debug", "targetstate.empty_period_dropped", period_index=index, **fields)  # Q1
        return
    out.append(
        Candidate(
            cadence,
            key,
            version,
            index,
            item,
            (start, end),
            (truncate(full[0]), truncate(full[1])),
            (truncate(billing[0]), truncate(billing[1])),
            one_time,
            open_ended,
        )
    )


def _check_active(
    schedule: Schedule, cadence: PhaseCadence, item: SubscriptionItem, effective_to: dt.datetime | None, t: dt.datetime
) -> None:
    """The validation of §4.3: subscription, phase and version must be active at ``t``."""
    sub = schedule.subscription
    if t < sub.active_from or (sub.active_to is not None and t > sub.active_to):
        raise InvalidPeriodError(f"full service period queried at {t.isoformat()}, outside the subscription")
    phase_active = cadence.start <= t and (cadence.end is None or t < cadence.end)
    if not phase_active and t != sub.active_to:
        raise InvalidPeriodError(f"full service period queried at {t.isoformat()}, outside the phase")
    version_active = item.active_from <= t and (effective_to is None or t < effective_to)
    zero_length = effective_to is not None and effective_to == item.active_from and t == item.active_from
    if not version_active and not zero_length:
        raise InvalidPeriodError(f"full service period queried at {t.isoformat()}, outside the version's range")


def _service(full: Bounds, item: SubscriptionItem, effective_to: dt.datetime | None) -> Bounds:
    """§4.4: the full service period intersected with the effective range (may be empty)."""
    start = full[0] if full[0] > item.active_from else item.active_from
    end = full[1] if effective_to is None or full[1] < effective_to else effective_to
    return start, end


def _starts_too_late(schedule: Schedule, cadence: PhaseCadence, start: dt.datetime) -> bool:
    """Q2 / Q8: the version starts at or after the subscription end or the phase end."""
    active_to = schedule.subscription.active_to
    return (active_to is not None and start >= active_to) or (cadence.end is not None and start >= cadence.end)


def expand_one_time(
    schedule: Schedule, cadence: PhaseCadence, key: str, version: int, item: SubscriptionItem, log: LogFn
) -> tuple[list[Candidate], bool]:
    """§5.7: one candidate whatever the limit (dropped by §5.9 when degenerate, Q4), or none (and stop
    the key) when the version starts at or after the subscription or phase end (Q2)."""
    start = item.active_from
    if _starts_too_late(schedule, cadence, start):
        log(
            "warning",
            "targetstate.one_time_after_end",
            phase_key=cadence.phase.key,
            item_key=key,
            version=version,
            active_from=start.isoformat(),
        )
        return [], True
    effective_to = schedule.effective_to(item, cadence)
    billing = schedule.billing_bounds_at(start)
    _check_active(schedule, cadence, item, effective_to, start)
    if cadence.end is not None:
        full_end = cadence.end  # Q3: the phase end wins even when the item ends earlier
    elif effective_to is not None:
        full_end = effective_to
    else:
        full_end = start  # open-ended: an instant
    full = (start, full_end)
    out: list[Candidate] = []
    emit(out, cadence, key, version, 0, item, _service(full, item, effective_to), full, billing, True, effective_to is None, log)
    return out, False


def expand_recurring(
    schedule: Schedule,
    cadence: PhaseCadence,
    key: str,
    version: int,
    item: SubscriptionItem,
    limit: dt.datetime,
    log: LogFn,
) -> tuple[list[Candidate], bool]:
    """§5.8: periods of the version's own cadence from its start, contiguous, up to the first one whose
    ``invoice_at`` lies beyond ``limit``, the version end, the phase end or the period cap.

    The §4.3 validation runs for the first period; every later period starts at the previous
    service end, which the loop only reaches while it lies before the effective end and the phase
    end, so the same checks hold for it by construction.
    """
    at = item.active_from
    if _starts_too_late(schedule, cadence, at):
        return [], True  # Q8
    effective_to = schedule.effective_to(item, cadence)
    _check_active(schedule, cadence, item, effective_to, at)
    phase_end = cadence.end
    active_from = item.active_from
    billing_at = schedule.billing_bounds_at
    full_at = schedule.recurrence(item.rate_card.billing_cadence).bounds_at  # type: ignore[arg-type]
    in_advance = pays_in_advance(item)
    cutoff = truncate(limit)
    open_ended = effective_to is None
    out: list[Candidate] = []
    index = 0
    while True:
        billing = billing_at(at)
        full = full_at(at)
        # §4.4: the full service period cut to the effective range
        service_start = full[0] if full[0] > active_from else active_from
        service_end = full[1] if effective_to is None or full[1] < effective_to else effective_to
        # §6 on untruncated periods, then the overflow-free cutoff of §5.6
        due = billing[0] if in_advance else (service_end if service_end > billing[1] else billing[1])
        if truncate(due) > cutoff:
            break  # this candidate is discarded, and no later period could qualify
        emit(out, cadence, key, version, index, item, (service_start, service_end), full, billing, False, open_ended, log)
        index += 1
        at = service_end
        if effective_to is not None and at >= effective_to:
            break
        if phase_end is not None and at >= phase_end:
            break
        if index > MAX_PERIOD_INDEX:
            log(
                "warning",
                "targetstate.period_cap_reached",
                phase_key=cadence.phase.key,
                item_key=key,
                version=version,
                periods=index,
                next_period_start=at.isoformat(),
            )
            break
    return out, False
