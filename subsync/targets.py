"""``subsync targets``: what a subscription file will bill, as of a time (scenario-format §5).

Reads the setup keys of a file (steps are ignored), builds each subscription's target state with an
empty persisted state, and hands the result to ``subsync.render_targets``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import SubscriptionView
from subscriptions.setup import build_view, load_setup_file, read_setup, setups_in
from subscriptions.validation import parse_instant
from targetstate import NO_PERSISTED_STATE, TargetState, build_target_state


@dataclass(frozen=True)
class SubscriptionTargets:
    view: SubscriptionView
    as_of: dt.datetime
    state: TargetState


def targets_of_file(path: str | Path, as_of: str | dt.datetime | None = None) -> list[SubscriptionTargets]:
    """The target state of every setup in ``path``; ``as_of`` defaults to each setup's ``clock``.

    Raises ``SubscriptionValidationError`` for a malformed file and ``TargetStateError`` when a build fails.
    """
    explicit = parse_instant(as_of, field="--as-of") if as_of is not None else None
    results = []
    for setup in setups_in(load_setup_file(path)):
        parsed = read_setup(setup)
        view = build_view(parsed, clock=parsed.clock)
        if explicit is not None:
            when = explicit
        elif parsed.clock is not None:
            when = parse_instant(parsed.clock, field="clock")
        else:
            raise SubscriptionValidationError("the file has no clock; give --as-of", field="clock")
        mode = parsed.customer.billing_profile.invoicing.subscription_end_proration_mode
        state = build_target_state(
            as_of=when,
            view=view,
            customer_deleted_at=None,
            subscription_end_proration_mode=mode,
            persisted=NO_PERSISTED_STATE,
        )
        results.append(SubscriptionTargets(view=view, as_of=when, state=state))
    return results
