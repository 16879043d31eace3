"""Phase cadences and persisted item ranges (targetstate spec §3.3 and §3.4).

The subscription package computes these when it writes a subscription; the target-state builder
reads phase cadences through ``phase_cadences`` so both sides agree on one definition.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, Sequence

from pydantic import ValidationError

from subscriptions import validation
from subscriptions.duration import Duration
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import Phase, Subscription, SubscriptionItem, SubscriptionView, sort_hint_key


class PhaseCadence(NamedTuple):
    """A phase with its computed ``[start, end)``; ``end`` is None for an open-ended last phase."""

    phase: Phase
    start: dt.datetime
    end: dt.datetime | None


def phase_start(subscription: Subscription, phase: Phase) -> dt.datetime:
    return phase.start_after.add_to(subscription.active_from)


def phase_cadences(subscription: Subscription, phases: Sequence[Phase]) -> list[PhaseCadence]:
    """Phases in phase order (computed start, sort hint, key) with their cadences.

    A phase ends where the next one starts; the subscription end caps every phase; a phase that
    would start after the end becomes zero-length. Phases sharing a start instant: all but the last
    in phase order are zero-length.
    """
    starts = {phase.key: phase_start(subscription, phase) for phase in phases}
    ordered = sorted(phases, key=lambda p: (starts[p.key], sort_hint_key(p), p.key))
    cadences: list[PhaseCadence] = []
    for index, phase in enumerate(ordered):
        start = starts[phase.key]
        end = starts[ordered[index + 1].key] if index + 1 < len(ordered) else None
        if subscription.active_to is not None:
            end = subscription.active_to if end is None else min(end, subscription.active_to)
        if end is not None and end < start:
            end = start
        cadences.append(PhaseCadence(phase, start, end))
    return cadences


def item_active_range(
    start_of_phase: dt.datetime,
    end_of_phase: dt.datetime | None,
    active_from_override: Duration | None,
    active_to_override: Duration | None,
) -> tuple[dt.datetime, dt.datetime | None]:
    """The persisted active range of an item version (§3.4 rules 1–3)."""
    start = active_from_override.add_to(start_of_phase) if active_from_override is not None else start_of_phase
    if end_of_phase is not None and end_of_phase < start:
        return end_of_phase, end_of_phase  # scheduled after a cancellation
    end = end_of_phase
    if active_to_override is not None:
        override_end = active_to_override.add_to(start_of_phase)
        end = override_end if end is None else min(override_end, end)
    return start, end


def intended_start(start_of_phase: dt.datetime, version: SubscriptionItem) -> dt.datetime:
    """Where a version means to start: phase start + ``active_from_override`` (§3.4 version order)."""
    override = version.active_from_override
    return override.add_to(start_of_phase) if override is not None else start_of_phase


def reschedule(subscription: Subscription, phases: Sequence[Phase]) -> SubscriptionView:
    """The view with every persisted range recomputed from the spec.

    Phase starts come from ``start_after``; item ranges from each version's overrides (relative to its
    phase start) capped by the phase cadence; versions are re-ordered by intended start (stable).
    The result is validated as a whole; a failure raises ``SubscriptionValidationError``.
    """
    name = f"subscription {subscription.id!r}"
    scheduled: list[Phase] = []
    try:
        cadences = phase_cadences(subscription, phases)
    except (OverflowError, ValueError):  # date arithmetic past year 9999 (or before year 1)
        raise _phase_out_of_range(subscription, phases) from None
    for cadence in cadences:
        items: dict[str, tuple[SubscriptionItem, ...]] = {}
        for key, versions in cadence.phase.items_by_key.items():
            try:
                ordered = sorted(versions, key=lambda v: intended_start(cadence.start, v))
                items[key] = tuple(
                    version.model_copy(update=_range_update(cadence.start, cadence.end, version)) for version in ordered
                )
            except (OverflowError, ValueError):
                raise SubscriptionValidationError(
                    "an active range lies outside the supported range of instants (years 1 to 9999)",
                    obj=f"{name}, phase {cadence.phase.key!r}, item {key!r}",
                ) from None
        scheduled.append(cadence.phase.model_copy(update={"active_from": cadence.start, "items_by_key": items}))
    draft = SubscriptionView.model_construct(subscription=subscription, phases=tuple(scheduled))
    data = draft.model_dump()
    try:
        return SubscriptionView.model_validate(data)
    except ValidationError as exc:
        raise validation.convert(exc, data, context=f"subscription {subscription.id!r}") from None


def _phase_out_of_range(subscription: Subscription, phases: Sequence[Phase]) -> SubscriptionValidationError:
    """The error naming the first phase whose start cannot be computed."""
    name = f"subscription {subscription.id!r}"
    start = subscription.active_from.isoformat().replace("+00:00", "Z")
    for phase in phases:
        try:
            phase_start(subscription, phase)
        except (OverflowError, ValueError):
            return SubscriptionValidationError(
                f"would start at {start} + {phase.start_after}, outside the supported range of instants "
                "(years 1 to 9999)",
                obj=f"{name}, phase {phase.key!r}",
                field="start",
            )
    return SubscriptionValidationError("a phase lies outside the supported range of instants", obj=name)


def _range_update(start: dt.datetime, end: dt.datetime | None, version: SubscriptionItem) -> dict[str, object]:
    active_from, active_to = item_active_range(start, end, version.active_from_override, version.active_to_override)
    return {"active_from": active_from, "active_to": active_to}
