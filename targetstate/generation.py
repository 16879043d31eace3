"""Phase generation: versions → candidates, then truncation and filtering (targetstate spec §5.6–§5.9).

``generate_phase`` is the public entry point; it applies no horizon and no continuity correction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog

from subscriptions.models import Phase, SubscriptionView
from subscriptions.timeline import PhaseCadence
from targetstate.errors import TargetStateError, TimeArithmeticError
from targetstate.items import TargetItem, wrap_candidates
from targetstate.money import fiat_currency
from targetstate.schedule import Schedule
from targetstate.timemath import require_utc
from targetstate.versions import Candidate, LogFn, expand_one_time, expand_recurring

_logger = structlog.get_logger("targetstate")


def make_log(**context: Any) -> LogFn:
    """A ``log(level, event, **fields)`` function that adds the build context to every event."""

    def log(level: str, event: str, **fields: Any) -> None:
        getattr(_logger, level)(event, **context, **fields)

    return log


def phase_candidates(schedule: Schedule, cadence: PhaseCadence, limit: dt.datetime, log: LogFn) -> list[Candidate]:
    """Every kept candidate of one phase (truncated and filtered, §5.9): keys in key order, versions
    in order."""
    out: list[Candidate] = []
    phase = cadence.phase
    for key in sorted(phase.items_by_key):
        for version, item in enumerate(phase.items_by_key[key]):
            if item.rate_card.price is None:
                continue  # unpriced: skipped, but it consumes its version number (Q11)
            try:
                if item.rate_card.billing_cadence is None:
                    candidates, stop = expand_one_time(schedule, cadence, key, version, item, log)
                else:
                    candidates, stop = expand_recurring(schedule, cadence, key, version, item, limit, log)
            except TargetStateError as exc:
                raise exc.enrich(**_context(schedule, phase.key, key, version))
            except (OverflowError, ValueError) as exc:  # §2.4: date arithmetic out of range
                error = TimeArithmeticError(f"expanding the version: date out of range ({exc})")
                raise error.enrich(**_context(schedule, phase.key, key, version)) from exc
            out.extend(candidates)
            if stop:
                break  # Q8 / Q2: later versions of this key are not processed
    return out


def _context(schedule: Schedule, phase_key: str, item_key: str, version: int) -> dict[str, Any]:
    sub = schedule.subscription
    return dict(
        subscription_id=sub.id, customer_id=sub.customer_id, phase_key=phase_key, item_key=item_key, version=version
    )


def generate_phase(
    view: SubscriptionView,
    phase: Phase | str,
    limit: dt.datetime,
    *,
    subscription_end_proration_mode: str = "",
) -> list[TargetItem]:
    """The target items of one phase up to ``limit`` (§5.6–§5.9), without horizon or continuity
    correction, ordered by item key, version and period index."""
    sub = view.subscription
    limit = require_utc(limit, "limit")
    schedule = Schedule(view)
    cadence = schedule.cadence_of(phase)
    log = make_log(subscription_id=sub.id, customer_id=sub.customer_id)
    candidates = phase_candidates(schedule, cadence, limit, log)
    try:
        currency = fiat_currency(sub.invoice_currency)
    except TargetStateError as exc:
        raise exc.enrich(subscription_id=sub.id, customer_id=sub.customer_id)
    return wrap_candidates(candidates, sub, currency, subscription_end_proration_mode)
