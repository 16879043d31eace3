"""What an operation hands back to the runner; applied only when its step commits."""

from __future__ import annotations

from dataclasses import dataclass

from subscriptions.models import SubscriptionView
from subsync.scenario.document import ScenarioSettings


@dataclass(frozen=True)
class Outcome:
    #: Sync steps: the rendered plan; None when nothing was planned (or the sync was skipped).
    plan: str | None = None
    #: Subscription steps: the view from now on.
    view: SubscriptionView | None = None
    #: ``configure``: the reconciler settings from now on.
    settings: ScenarioSettings | None = None
