"""The periodic reconciliation job (reconciler.md §7.2–§7.3).

``ReconcileJob.run`` lists subscriptions (``subsync.job.listing``), keeps those that are due
(``subsync.job.rules``), and syncs each with ``sync_by_id(namespace, id, now,
skip_custom_currency_subscriptions=True)``, in listing order and in chunks. Every subscription is
synced in its own locked transaction, so a failure rolls back only that subscription: the error is
logged (``reconcile.subscription_failed``) and recorded, and the run goes on. The next run retries it
(a failed sync writes no sync state, so the subscription stays due). ``reconcile_all`` raises the
collected errors together as ``ReconcileErrors`` at the end, as §7.2 specifies; the CLI uses ``run``,
which returns the report.

The job is level-based: it reads the current state and converges; running it more often than needed
is harmless, because a second sync of the same inputs plans nothing (§10.3).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Iterator
from typing import Any, Protocol

import structlog

from billing.errors import NothingToInvoiceError
from billing.store import Store
from billing.sync_state import SubscriptionRef
from billing.sync_state_store import SyncStateStore
from reconciler.settings import SyncSettings
from subsync.job.charges import ChargeAdvancePass
from subsync.job.listing import ListedSubscription, StoreListing, list_pages, require_positive_lookback
from subsync.job.preplan import PrePlanner
from subsync.job.report import Outcome, ReconcileErrors, ReconcileReport, SubscriptionFailure
from subsync.job.rules import not_due_reason
from subsync.sync import SyncOptions, SyncResult, SyncService
from subsync.sync.charges_stack import sync_service

log = structlog.get_logger(__name__)

#: Subscriptions processed per chunk (one pre-planning transaction per chunk).
CHUNK_SIZE = 100


class Progress(Protocol):
    """What a progress display is told while the job runs."""

    def due(self, count: int) -> None: ...  # ``count`` more subscriptions will be processed

    def done(self, listed: ListedSubscription, outcome: Outcome) -> None: ...


class _NoProgress:
    def due(self, count: int) -> None:
        pass

    def done(self, listed: ListedSubscription, outcome: Outcome) -> None:
        pass


def outcome_of(result: SyncResult) -> Outcome:
    if result.skipped:
        return Outcome.SKIPPED
    if result.plan is None or result.plan.is_empty:
        return Outcome.UNCHANGED
    return Outcome.SYNCED


class ReconcileJob:
    #: The charge-advance pass run after the syncs (``subsync.job.charges``); ``for_store`` sets it.
    charge_pass: ChargeAdvancePass | None = None

    def __init__(
        self,
        *,
        service: Any,
        subscriptions: Any,
        sync_states: Any,
        clock: Any,
        settings: SyncSettings | None = None,
        preplanner: PrePlanner | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.service = service
        self.subscriptions = subscriptions
        self.sync_states = sync_states
        self.clock = clock
        self.settings = settings if settings is not None else getattr(service, "settings", SyncSettings())
        self.preplanner = preplanner
        self.chunk_size = chunk_size

    @classmethod
    def for_store(
        cls, store: Store, *, settings: SyncSettings | None = None, service: SyncService | None = None,
        preplan: bool = True,
    ) -> "ReconcileJob":
        """The job over one billing store, with the store's clock; ``preplan`` turns on §7.2 batching."""
        service = service or sync_service(store, settings=settings)
        job = cls(
            service=service,
            subscriptions=StoreListing(store),
            sync_states=SyncStateStore(store),
            clock=store.clock,
            settings=service.settings,
            preplanner=PrePlanner(service, store) if preplan else None,
        )
        job.charge_pass = ChargeAdvancePass(store)
        return job

    # -- selection ------------------------------------------------------------------------------------
    def selected(
        self,
        *,
        namespaces: Collection[str] | None = None,
        customers: Collection[str] | None = None,
        lookback: dt.timedelta | None = None,
        force: bool = False,
        limit: int | None = None,
        now: dt.datetime | None = None,
    ) -> Iterator[ListedSubscription]:
        """The subscriptions a run would sync, in order (``subsync reconcile --list``)."""
        now = now or self.clock.now()
        count = 0
        for page in self._pages(namespaces, customers, lookback, now):
            for listed in page:
                if limit is not None and count >= limit:
                    return
                if not_due_reason(listed.sync_state, now, force=force) is None:
                    count += 1
                    yield listed

    def _pages(self, namespaces: Collection[str] | None, customers: Collection[str] | None,
               lookback: dt.timedelta | None, now: dt.datetime) -> Iterator[list[ListedSubscription]]:
        lookback = require_positive_lookback(
            lookback if lookback is not None else self.settings.reconcile_default_lookback
        )
        return list_pages(
            self.subscriptions, self.sync_states, now=now, lookback=lookback, namespaces=namespaces,
            customers=customers, page_size=self.settings.reconcile_page_size,
        )

    # -- the run ---------------------------------------------------------------------------------------
    def run(
        self,
        *,
        namespaces: Collection[str] | None = None,
        customers: Collection[str] | None = None,
        lookback: dt.timedelta | None = None,
        force: bool = False,
        limit: int | None = None,
        invoice: bool = False,
        progress: Progress | None = None,
        keep_plans: bool = False,
    ) -> ReconcileReport:
        """Sync every due subscription (at most ``limit``); never raises for one subscription's error.

        ``keep_plans`` keeps the applied plans in the report (the demo prints them).
        """
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        progress = progress or _NoProgress()
        lookback = require_positive_lookback(
            lookback if lookback is not None else self.settings.reconcile_default_lookback
        )
        started = time.monotonic()
        now = self.clock.now()
        report = ReconcileReport(now=now, lookback=lookback, force=force, plans=[] if keep_plans else None)
        log.info("reconcile.started", now=now.isoformat(), lookback_seconds=int(lookback.total_seconds()),
                 force=force, limit=limit, namespaces=sorted(namespaces or ()), customers=sorted(customers or ()))
        to_invoice: dict[tuple[str, str], None] = {}
        for page in self._pages(namespaces, customers, lookback, now):
            report.listed += len(page)
            due = []
            for listed in page:
                if not_due_reason(listed.sync_state, now, force=force) is None:
                    due.append(listed)
                else:
                    report.not_due += 1
            if limit is not None:
                room = max(limit - report.processed - report.deferred, 0)
                report.deferred += max(len(due) - room, 0)
                due = due[:room]
            progress.due(len(due))
            for start in range(0, len(due), self.chunk_size):
                self._process_chunk(due[start : start + self.chunk_size], now, force, report, progress, to_invoice)
        if self.charge_pass is not None:
            self.charge_pass.run_in_job(report, namespaces=namespaces, customers=customers,
                                        credits_enabled=self.settings.credits_enabled)
        if invoice:
            self._invoice(list(to_invoice), report)
        report.duration = dt.timedelta(seconds=time.monotonic() - started)
        log.info("reconcile.finished", listed=report.listed, not_due=report.not_due, synced=report.synced,
                 unchanged=report.unchanged, skipped=report.skipped, failed=report.failed,
                 invoices=len(report.invoices), duration_seconds=round(report.duration.total_seconds(), 3))
        return report

    def reconcile_all(
        self,
        namespaces: Collection[str] | None = None,
        customers: Collection[str] | None = None,
        lookback: dt.timedelta | None = None,
        force: bool = False,
    ) -> ReconcileReport:
        """§7.2: ``run``, then raise the collected errors together as ``ReconcileErrors``."""
        report = self.run(namespaces=namespaces, customers=customers, lookback=lookback, force=force)
        if report.failures:
            raise ReconcileErrors(
                f"{len(report.failures)} subscription(s) failed to reconcile",
                [failure.error for failure in report.failures],  # type: ignore[misc]
                report,
            )
        return report

    def reconcile_subscription(self, ref: SubscriptionRef | tuple[str, str]) -> SyncResult:
        """§7.2: ``sync_by_id(ref, now, skip_custom_currency_subscriptions=True)``; errors propagate."""
        namespace, subscription_id = (ref.namespace, ref.subscription_id) if isinstance(ref, SubscriptionRef) else ref
        return self.service.sync_by_id(
            namespace, subscription_id, self.clock.now(), SyncOptions(skip_custom_currency_subscriptions=True)
        )

    # -- one chunk, one subscription -------------------------------------------------------------------
    def _process_chunk(self, chunk: list[ListedSubscription], now: dt.datetime, force: bool,
                       report: ReconcileReport, progress: Progress, to_invoice: dict[tuple[str, str], None]) -> None:
        quiet: dict[SubscriptionRef, SyncResult] = {}
        if self.preplanner is not None and force:
            forced = [listed for listed in chunk if not_due_reason(listed.sync_state, now) is not None]
            if forced:
                quiet = self.preplanner.quiet(forced, now)
        for listed in chunk:
            with structlog.contextvars.bound_contextvars(
                namespace=listed.namespace, subscription_id=listed.subscription_id, customer_id=listed.customer_id
            ):
                result = quiet.get(listed.ref)
                if result is not None:
                    outcome = outcome_of(result)
                    log.info("reconcile.subscription_done", outcome=outcome.value, locked=False)
                else:
                    outcome = self._sync_one(listed, now, report)
            report.outcomes[outcome] += 1
            if outcome in (Outcome.SYNCED, Outcome.UNCHANGED):
                to_invoice[(listed.namespace, listed.customer_id)] = None
            progress.done(listed, outcome)

    def _sync_one(self, listed: ListedSubscription, now: dt.datetime, report: ReconcileReport) -> Outcome:
        try:
            result = self.service.sync_by_id(
                listed.namespace, listed.subscription_id, now, SyncOptions(skip_custom_currency_subscriptions=True)
            )
        except Exception as exc:  # noqa: BLE001 - one bad subscription never stops the run (§7.2)
            failure = SubscriptionFailure(listed.namespace, listed.subscription_id, listed.customer_id, exc)
            report.failures.append(failure)
            log.error("reconcile.subscription_failed", error_type=failure.category, error=failure.message)
            if failure.category == "InternalError":
                log.debug("reconcile.subscription_failed.traceback", exc_info=exc)
            return Outcome.FAILED
        outcome = outcome_of(result)
        plan = result.plan
        if report.plans is not None and outcome is Outcome.SYNCED:
            report.plans.append(plan)
        log.info("reconcile.subscription_done", outcome=outcome.value, locked=True,
                 patches=len(plan.patches) if plan is not None else 0,
                 issue_updates=len(plan.issue_updates) if plan is not None else 0)
        return outcome

    def _invoice(self, customers: list[tuple[str, str]], report: ReconcileReport) -> None:
        """``--invoice``: invoice the pending lines of every customer whose subscription synced."""
        billing = self.service.billing
        for namespace, customer_id in customers:
            with structlog.contextvars.bound_contextvars(namespace=namespace, customer_id=customer_id):
                try:
                    invoices = billing.invoice_pending_lines(
                        namespace, customer_id,
                        force_async_advance=self.settings.force_async_invoice_pending_lines, allow_partial=False,
                        max_lines_per_invoice=self.settings.max_lines_per_collected_invoice,
                    )
                except NothingToInvoiceError:
                    continue
                except Exception as exc:  # noqa: BLE001 - reported like a failed subscription
                    failure = SubscriptionFailure(namespace, None, customer_id, exc, stage="invoice")
                    report.failures.append(failure)
                    log.error("reconcile.invoice_failed", error_type=failure.category, error=failure.message)
                    continue
                report.invoices.extend(invoice.id for invoice in invoices)
                log.info("reconcile.invoiced", invoices=[invoice.id for invoice in invoices])


__all__ = ["CHUNK_SIZE", "Progress", "ReconcileJob", "outcome_of"]
