"""The periodic reconciliation job (reconciler.md §7): listing, skip rules, chunks with unlocked
pre-planning, per-subscription failure isolation, and the run's report.

``ReconcileJob.for_store(store, settings=…)`` wires it to one billing store; ``run`` returns a
``ReconcileReport`` (``subsync reconcile`` prints it), ``reconcile_all`` raises ``ReconcileErrors``
after the run when any subscription failed.
"""

from subsync.job.listing import ListedSubscription, list_pages, require_positive_lookback
from subsync.job.reconcile import CHUNK_SIZE, Progress, ReconcileJob, outcome_of
from subsync.job.report import Outcome, ReconcileErrors, ReconcileReport, SubscriptionFailure
from subsync.job.rules import NotDue, is_due, not_due_reason

__all__ = [
    "CHUNK_SIZE",
    "ListedSubscription",
    "NotDue",
    "Outcome",
    "Progress",
    "ReconcileErrors",
    "ReconcileJob",
    "ReconcileReport",
    "SubscriptionFailure",
    "is_due",
    "list_pages",
    "not_due_reason",
    "outcome_of",
    "require_positive_lookback",
]
