"""``build_target_state``: the whole build (targetstate spec §5.1).

1. ``as_of`` is required; ``view = None`` (a deleted subscription) gives an empty target.
2. Customer-deletion capping (§3.6) on a copy of the subscription.
3. The phase loop (§5.3) with phase generation, truncation and filtering (§5.6–§5.9).
4. The continuity correction through ``PersistedLookup`` (§5.10).
5. The fiat currency, wrapping into ``TargetItem``s (duplicate identities raise) and the generation
   limit (§5.5).

The build is a pure function of its inputs: no clock, no store, no environment. A failed build
raises and returns nothing.
"""

from __future__ import annotations

import datetime as dt

from subscriptions.models import Subscription, SubscriptionView
from targetstate.continuity import PersistedLookup, correct_continuity
from targetstate.errors import TargetStateError
from targetstate.generation import make_log
from targetstate.horizon import run_phase_loop
from targetstate.items import TargetState, construct_state, wrap_candidates
from targetstate.money import fiat_currency
from targetstate.proration import KNOWN_END_PRORATION_MODES
from targetstate.schedule import Schedule
from targetstate.timemath import require_utc


def build_target_state(
    *,
    as_of: dt.datetime,
    view: SubscriptionView | None,
    customer_deleted_at: dt.datetime | None,
    subscription_end_proration_mode: str,
    persisted: PersistedLookup,
) -> TargetState:
    """The target state of ``view`` at ``as_of``: its target items and ``max_generation_time_limit``."""
    if as_of is None:
        raise TargetStateError("as_of is required")
    as_of = require_utc(as_of, "as_of")
    if view is None:
        return TargetState(items=(), max_generation_time_limit=as_of)
    sub = view.subscription
    try:
        return _build(as_of, view, customer_deleted_at, subscription_end_proration_mode, persisted)
    except TargetStateError as exc:
        raise exc.enrich(subscription_id=sub.id, customer_id=sub.customer_id)


def _build(
    as_of: dt.datetime,
    view: SubscriptionView,
    customer_deleted_at: dt.datetime | None,
    mode: str,
    persisted: PersistedLookup,
) -> TargetState:
    view = cap_at_customer_deletion(view, customer_deleted_at)
    sub = view.subscription
    log = make_log(subscription_id=sub.id, customer_id=sub.customer_id, as_of=as_of.isoformat())
    if mode not in KNOWN_END_PRORATION_MODES:
        log("warning", "targetstate.unknown_end_proration_mode", subscription_end_proration_mode=mode)

    schedule = Schedule(view)
    loop = run_phase_loop(schedule, as_of, log)
    candidates = correct_continuity(loop.candidates, persisted, sub.id)
    currency = fiat_currency(sub.invoice_currency)
    # Phases are visited in phase order and each phase emits keys, versions and periods in order,
    # so the items already come in the deterministic order of §5.11.
    items = wrap_candidates(candidates, sub, currency, mode)

    if not loop.took_part:
        limit = None  # Q9: nothing billable
    elif sub.active_to is not None and sub.active_to <= as_of:
        limit = None  # Q10: the subscription has ended; everything up to its end is generated
    else:
        limit = loop.max_limit
    return construct_state(items=tuple(items), max_generation_time_limit=limit)


def cap_at_customer_deletion(view: SubscriptionView, customer_deleted_at: dt.datetime | None) -> SubscriptionView:
    """§3.6: a customer deletion before the subscription end becomes the subscription end.

    Phase ends, billing periods and effective item ranges follow from it. A deletion at or before
    the subscription start (the sync does not build then) caps the subscription to the instant of
    its start, so nothing is generated.
    """
    if customer_deleted_at is None:
        return view
    deleted_at = require_utc(customer_deleted_at, "customer_deleted_at")
    sub: Subscription = view.subscription
    if sub.active_to is not None and sub.active_to <= deleted_at:
        return view
    capped_end = max(deleted_at, sub.active_from)
    return view.model_copy(update={"subscription": sub.model_copy(update={"active_to": capped_end})})
