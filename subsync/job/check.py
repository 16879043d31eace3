"""``subsync check``: dry-run the selected subscriptions and report the ones whose billing drifted.

Like ``alembic check``: a non-empty plan means billing does not yet hold what the subscription says.
Selection: the given subscription ids, or else every stored subscription (deleted ones included, since
they may still own billing artifacts), filtered by namespace and customer. Each dry run takes the
customer lock and rolls back (reconciler.md §6.5), so nothing is written.

Custom-currency subscriptions (which billing does not bill) are skipped when selected by listing; named
explicitly, they fail with the sync's conflict error, as for any explicit caller. A subscription whose
dry run raises is reported as failed and the check goes on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from billing.store import Store
from billing.subscription_store import SubscriptionStore
from patches.model import Plan
from subsync.job.report import SubscriptionFailure
from subsync.sync import PageRequest, StoredSubscriptions, SyncOptions

log = structlog.get_logger(__name__)

PAGE_SIZE = 1_000


@dataclass
class CheckResult:
    as_of: dt.datetime
    checked: int = 0
    in_sync: int = 0
    skipped: int = 0
    pending: list[Plan] = field(default_factory=list)
    failures: list[SubscriptionFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.pending and not self.failures

    def summary_line(self) -> str:
        if self.ok:
            extra = f" ({self.skipped} skipped)" if self.skipped else ""
            return f"all {self.checked} subscription(s) are in sync{extra}"
        parts = [f"{len(self.pending)} of {self.checked} subscription(s) have pending changes"]
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts)


def _selection(
    store: Store, ids: Collection[str] | None, customers: Collection[str] | None, namespaces: Collection[str] | None
) -> Iterator[tuple[str, str, str | None]]:
    """(namespace, subscription id, customer id or None) of every selected subscription."""
    if ids:
        default = sorted(namespaces)[0] if namespaces and len(namespaces) == 1 else "default"
        for subscription_id in ids:
            yield default, subscription_id, None
        return
    port = StoredSubscriptions(SubscriptionStore(store))
    number = 1
    while True:
        page = port.list_subscriptions(
            namespaces=list(namespaces) if namespaces else None, customer_ids=list(customers) if customers else None,
            include_deleted=True, page=PageRequest(page_number=number, page_size=PAGE_SIZE),
        )
        for item in page.items:
            yield item.namespace, item.id, item.customer_id
        if page.is_last:
            return
        number += 1


def check_subscriptions(
    service: Any,
    store: Store,
    *,
    as_of: dt.datetime,
    ids: Collection[str] | None = None,
    customers: Collection[str] | None = None,
    namespaces: Collection[str] | None = None,
) -> CheckResult:
    result = CheckResult(as_of=as_of)
    options = SyncOptions(dry_run=True, skip_custom_currency_subscriptions=not ids)
    for namespace, subscription_id, customer_id in _selection(store, ids, customers, namespaces):
        result.checked += 1
        with structlog.contextvars.bound_contextvars(namespace=namespace, subscription_id=subscription_id,
                                                     customer_id=customer_id):
            try:
                synced = service.sync_by_id(namespace, subscription_id, as_of, options)
            except Exception as exc:  # noqa: BLE001 - one bad subscription never stops the check
                failure = SubscriptionFailure(namespace, subscription_id, customer_id, exc, stage="check")
                result.failures.append(failure)
                log.error("check.subscription_failed", error_type=failure.category, error=failure.message)
                continue
        if synced.skipped:
            result.skipped += 1
        elif synced.plan is not None and not synced.plan.is_empty:
            result.pending.append(synced.plan)
        else:
            result.in_sync += 1
    return result


__all__ = ["CheckResult", "check_subscriptions"]
