"""The time structure of one subscription: phase cadences, recurrences and billing periods.

A ``Schedule`` is built once per build from the (capped) view. It answers ``billing_period_at(t)``
(§4.2), hands out one memoised ``Recurrence`` per cadence (every recurrence is anchored at the
subscription billing anchor, §3.2) and knows each version's effective range (§3.4, Q5).
"""

from __future__ import annotations

import datetime as dt

from subscriptions.duration import Duration
from subscriptions.models import Phase, SubscriptionItem, SubscriptionView
from subscriptions.timeline import PhaseCadence, phase_cadences
from targetstate.errors import QueriedBeforeSubscriptionStart, TargetStateError
from targetstate.timemath import Period, Recurrence, arithmetic, earlier_end, require_utc

Bounds = tuple[dt.datetime, dt.datetime]


class Schedule:
    """Phase cadences and recurrences of one subscription view (a per-build calculator, not a value)."""

    __slots__ = ("view", "subscription", "cadences", "_by_key", "_recurrences", "billing", "_billing_at")

    def __init__(self, view: SubscriptionView) -> None:
        self.view = view
        sub = view.subscription
        self.subscription = sub
        try:
            with arithmetic("phase start"):
                self.cadences: list[PhaseCadence] = phase_cadences(sub, view.phases)
            self._recurrences: dict[Duration, Recurrence] = {}
            self.billing = self.recurrence(sub.billing_cadence)
        except TargetStateError as exc:
            raise exc.enrich(subscription_id=sub.id, customer_id=sub.customer_id)
        self._by_key = {c.phase.key: c for c in self.cadences}
        #: Billing periods by query instant: the versions of a subscription query the same instants.
        self._billing_at: dict[dt.datetime, Bounds] = {}

    # -- phases ----------------------------------------------------------------------------------

    def cadence_of(self, phase: Phase | str) -> PhaseCadence:
        key = phase if isinstance(phase, str) else phase.key
        try:
            return self._by_key[key]
        except KeyError:
            raise self.error(f"the view has no phase {key!r}") from None

    # -- recurrences -----------------------------------------------------------------------------

    def recurrence(self, cadence: Duration) -> Recurrence:
        """The recurrence of ``cadence`` anchored at the subscription billing anchor (memoised)."""
        found = self._recurrences.get(cadence)
        if found is None:
            found = self._recurrences[cadence] = Recurrence(self.subscription.billing_anchor, cadence)
        return found

    # -- billing periods (§4.2) ------------------------------------------------------------------

    def billing_bounds_at(self, t: dt.datetime) -> Bounds:
        """The aligned billing period at ``t``, clamped to its phase; may be inverted far past the end."""
        found = self._billing_at.get(t)
        if found is None:
            found = self._billing_at[t] = self._billing_bounds_at(t)
        return found

    def _billing_bounds_at(self, t: dt.datetime) -> Bounds:
        sub = self.subscription
        if t < sub.active_from:
            raise QueriedBeforeSubscriptionStart(
                f"billing period queried at {t.isoformat()}, before the subscription starts at "
                f"{sub.active_from.isoformat()}",
                subscription_id=sub.id,
                customer_id=sub.customer_id,
            )
        selector = t if sub.active_to is None or t < sub.active_to else sub.active_to
        selected: PhaseCadence | None = None
        for cadence in self.cadences:
            if cadence.start <= selector:
                selected = cadence
            else:
                break
        if selected is None:
            raise self.error(f"no phase has started at {t.isoformat()}")
        start, end = self.billing.bounds_at(t)
        if selected.end is not None and selected.end < end:
            end = selected.end
        if selected.start > start:
            start = selected.start
        return start, end

    def billing_period_at(self, t: dt.datetime) -> Period:
        start, end = self.billing_bounds_at(t)
        return Period.unchecked(start, end) if end < start else Period(start=start, end=end)

    # -- item versions (§3.4) --------------------------------------------------------------------

    @staticmethod
    def effective_to(item: SubscriptionItem, cadence: PhaseCadence) -> dt.datetime | None:
        """The version's end capped at the phase end (Q5); None only when both are open."""
        return earlier_end(item.active_to, cadence.end)

    def error(self, message: str, **context: object) -> TargetStateError:
        sub = self.subscription
        return TargetStateError(message, subscription_id=sub.id, customer_id=sub.customer_id, **context)  # type: ignore[arg-type]


def billing_period_at(view: SubscriptionView, t: dt.datetime) -> Period:
    """The aligned billing period of ``view`` at ``t`` (§4.2).

    The recurrence of the subscription billing cadence from the billing anchor, never re-anchored,
    clamped to the phase selected at ``t`` (or at the subscription end once it has passed). Raises
    ``QueriedBeforeSubscriptionStart`` before the subscription start. Far past the end the clamp may
    invert the pair; such a period is returned unvalidated (only its end is meaningful).
    """
    t = require_utc(t, "t")
    sub = view.subscription
    try:
        return Schedule(view).billing_period_at(t)
    except TargetStateError as exc:
        raise exc.enrich(subscription_id=sub.id, customer_id=sub.customer_id)
