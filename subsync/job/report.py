"""What one run of the periodic job did: per-subscription outcomes, failures and the summary.

Outcomes of a subscription the job synced:

- ``synced``: the plan had changes and they were applied;
- ``unchanged``: the plan was empty (only the sync state was written, or nothing at all);
- ``skipped``: the sync skipped it (custom-currency priced items, reconciler.md §6.2 step 3);
- ``failed``: the sync raised; the error is recorded and the run goes on (§7.2). Nothing of that
  subscription was committed (§10.2), so the next run retries it.

Listed subscriptions that are not due (``subsync.job.rules``) are counted as ``not_due``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pydantic

from subsync.errors import category_of


class Outcome(str, Enum):
    SYNCED = "synced"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class SubscriptionFailure:
    """One subscription (or, for ``--invoice``, one customer) the run could not finish."""

    namespace: str
    subscription_id: str | None
    customer_id: str | None
    error: BaseException
    stage: str = "sync"

    @property
    def category(self) -> str:
        """The error's category (``subsync.errors``); ``InternalError`` for anything else (a bug)."""
        return category_of(self.error) or "InternalError"

    @property
    def message(self) -> str:
        """One line; a pydantic error (e.g. a corrupt stored view) names its first problem and a count."""
        if isinstance(self.error, pydantic.ValidationError):
            errors = self.error.errors(include_url=False)
            first = errors[0]
            where = ".".join(str(part) for part in first["loc"])
            text = f"{self.error.title} is invalid: {where + ': ' if where else ''}{first['msg']}"
            if len(errors) > 1:
                text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        else:
            text = str(self.error) or type(self.error).__name__
        return " ".join(text.split())

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "subscription_id": self.subscription_id,
            "customer_id": self.customer_id,
            "stage": self.stage,
            "error_type": self.category,
            "message": self.message,
        }


@dataclass
class ReconcileReport:
    now: dt.datetime
    lookback: dt.timedelta
    force: bool
    listed: int = 0
    not_due: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    failures: list[SubscriptionFailure] = field(default_factory=list)
    #: ``--invoice``: ids of the standard invoices created after the run.
    invoices: list[str] = field(default_factory=list)
    duration: dt.timedelta = dt.timedelta(0)
    #: Due subscriptions left for the next run because of ``limit``.
    deferred: int = 0
    #: The applied plans of synced subscriptions, when the run was asked to keep them.
    plans: list[Any] | None = None
    #: The charge-advance pass (``subsync.job.charges.ChargeAdvanceSummary``), when it ran.
    charge_advance: Any = None

    @property
    def synced(self) -> int:
        return self.outcomes[Outcome.SYNCED]

    @property
    def unchanged(self) -> int:
        return self.outcomes[Outcome.UNCHANGED]

    @property
    def skipped(self) -> int:
        return self.outcomes[Outcome.SKIPPED]

    @property
    def failed(self) -> int:
        return self.outcomes[Outcome.FAILED]

    @property
    def processed(self) -> int:
        return sum(self.outcomes.values())

    @property
    def limited(self) -> bool:
        """True when ``limit`` left due subscriptions for the next run."""
        return self.deferred > 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary_line(self) -> str:
        deferred = f", {self.deferred} left for the next run by --limit" if self.deferred else ""
        charges = f"; {self.charge_advance.summary_line()}" if self.charge_advance is not None else ""
        return (
            f"{self.synced} synced, {self.unchanged} unchanged, {self.skipped} skipped, {self.failed} failed"
            f" ({self.listed} listed, {self.not_due} not due{deferred}) in {self.duration.total_seconds():.2f}s"
            f"{charges}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat().replace("+00:00", "Z"),
            "lookback_seconds": int(self.lookback.total_seconds()),
            "force": self.force,
            "listed": self.listed,
            "not_due": self.not_due,
            "synced": self.synced,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "deferred": self.deferred,
            "invoices": list(self.invoices),
            "duration_seconds": round(self.duration.total_seconds(), 3),
            "failures": [failure.as_dict() for failure in self.failures],
            **({"charge_advance": self.charge_advance.as_dict()} if self.charge_advance is not None else {}),
        }


class ReconcileErrors(ExceptionGroup):  # noqa: N818 - the name of reconciler.md §7.2
    """The errors one ``reconcile_all`` collected, raised together after every subscription ran."""

    report: ReconcileReport

    def __new__(cls, message: str, errors: list[Exception], report: ReconcileReport | None = None):  # type: ignore[no-untyped-def]
        group = super().__new__(cls, message, errors)
        group.report = report  # type: ignore[assignment]
        return group

    def __init__(self, message: str, errors: list[Exception], report: ReconcileReport | None = None) -> None:
        super().__init__(message, errors)

    def derive(self, excs):  # type: ignore[no-untyped-def]
        return ReconcileErrors(self.message, list(excs), self.report)


__all__ = ["Outcome", "ReconcileErrors", "ReconcileReport", "SubscriptionFailure"]
