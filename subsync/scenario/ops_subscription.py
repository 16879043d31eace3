"""Subscription operations of a scenario: running edits, cancel, continue, delete.

Each computes the next view with ``subscriptions.edits`` and writes it to the subscription store (the
sync service reads the current view from there); the runner adopts the view once the step commits.
An edit's time is its ``effective_at`` (default: the clock), never the step's ``at``.
"""

from __future__ import annotations

from subscriptions import edits
from subsync.scenario.outcome import Outcome
from subsync.scenario.steps import CancelStep, ContinueStep, DeleteSubscriptionStep, EditSubscriptionStep


def _stored(world, view) -> Outcome:  # type: ignore[no-untyped-def]
    world.store_view(view)
    return Outcome(view=view)


def edit_subscription(world, step: EditSubscriptionStep) -> Outcome:  # type: ignore[no-untyped-def]
    at = step.effective_at or world.clock.now()
    return _stored(world, edits.edit_subscription(world.view, step.ops, at))


def cancel(world, step: CancelStep) -> Outcome:  # type: ignore[no-untyped-def]
    at = world.clock.now() if step.immediate else step.effective_at
    return _stored(world, edits.cancel(world.view, at))


def continue_(world, step: ContinueStep) -> Outcome:  # type: ignore[no-untyped-def]
    return _stored(world, edits.continue_subscription(world.view))


def delete_subscription(world, step: DeleteSubscriptionStep) -> Outcome:  # type: ignore[no-untyped-def]
    return _stored(world, edits.delete(world.view, world.clock.now()))
