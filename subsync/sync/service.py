"""``SyncService``: one subscription sync, end to end (reconciler.md §6).

resolve → custom-currency gate → customer → (customer lock + one transaction: load → build → probes →
plan → apply → sync state → commit) → invoice pending lines (the "and invoice customer" entry points
only, after the commit). A dry run runs the same steps under the same lock and always rolls back.
``apply_stored_plan`` applies a plan computed earlier if the persisted state has not moved since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import structlog

import reconciler
from billing.clock import Clock
from billing.errors import NothingToInvoiceError
from billing.money import is_fiat
from billing.service import BillingService
from billing.store import Store
from billing.subscription_store import SubscriptionStore
from billing.sync_state_store import SyncStateStore
from billing.types import require_utc
from patches.apply import ApplyPorts, apply_plan
from patches.errors import StalePlanError
from patches.model import Plan
from persistedstate import PersistedState, load_persisted_state, lookup_of
from reconciler.errors import InvalidCurrencyError
from reconciler.inputs import PlanInputs, SubscriptionFacts
from reconciler.settings import SyncSettings, credits_misconfigured
from subscriptions.models import SubscriptionView
from subsync.sync.currency_gate import has_billables, has_custom_currency_billables
from subsync.sync.dry_run import log_dry_run
from subsync.sync.errors import ConfigurationError, CustomCurrencyNotSupportedError
from subsync.sync.options import SyncOptions, SyncResult
from subsync.sync.probes import evaluate_probes
from subsync.sync.subscriptions import StoredSubscriptions
from subsync.sync.sync_state import next_sync_state
from targetstate import build_target_state

log = structlog.get_logger(__name__)

DEFAULT_END_PRORATION_MODE = "bill_actual_period"


@dataclass(frozen=True)
class _Subject:
    """The subscription a sync is about, resolved before the lock."""

    namespace: str
    subscription_id: str
    customer_id: str
    currency: str
    settlement_mode: str
    view: SubscriptionView | None  # None: deleted, the target is empty
    deleted: bool

    @property
    def context(self) -> dict[str, str]:
        return {"namespace": self.namespace, "subscription_id": self.subscription_id,
                "customer_id": self.customer_id}


class SyncService:
    """The sync service over its ports (reconciler.md §8.2). ``SyncService.for_store(store)`` wires
    every port to one billing store."""

    def __init__(
        self,
        *,
        billing: Any,
        subscriptions: Any,
        sync_states: Any,
        clock: Clock,
        settings: SyncSettings | None = None,
        charges: Any = None,
        line_engine: Any = None,
        custom_currencies: Collection[str] = (),
    ) -> None:
        self.settings = settings if settings is not None else SyncSettings()
        if credits_misconfigured(self.settings, charges_port_configured=charges is not None):
            raise ConfigurationError("credits_enabled requires a charges port (the charges service is not configured)")
        self.billing = billing
        self.subscriptions = subscriptions
        self.sync_states = sync_states
        self.clock = clock
        self.charges = charges
        self.line_engine = line_engine if line_engine is not None else billing
        self.custom_currencies = frozenset(custom_currencies)

    @classmethod
    def for_store(
        cls, store: Store, *, settings: SyncSettings | None = None, charges: Any = None, **ports: Any
    ) -> "SyncService":
        """Every port on ``store``: billing, stored subscriptions, sync state, the store's clock and
        custom currencies. ``charges`` stays None unless given; ``subsync.sync.charges_stack.sync_service``
        passes the store's charges service when credits are on."""
        billing = ports.pop("billing", None) or BillingService(store)
        return cls(
            billing=billing,
            subscriptions=ports.pop("subscriptions", None) or StoredSubscriptions(SubscriptionStore(store)),
            sync_states=ports.pop("sync_states", None) or SyncStateStore(store),
            clock=ports.pop("clock", None) or store.clock,
            settings=settings,
            charges=charges,
            custom_currencies=ports.pop("custom_currencies", None) or tuple(store.custom_currencies),
            **ports,
        )

    # -- entry points (§6.1) ------------------------------------------------------------------------
    def sync_by_view(self, view: SubscriptionView, as_of: dt.datetime, options: SyncOptions = SyncOptions()) -> SyncResult:
        return self._sync(view.subscription.namespace, view.subscription.id, view, as_of, options, invoice=False)

    def sync_by_id(self, namespace: str, subscription_id: str, as_of: dt.datetime,
                   options: SyncOptions = SyncOptions()) -> SyncResult:
        return self._sync(namespace, subscription_id, None, as_of, options, invoice=False)

    def sync_by_view_and_invoice_customer(self, view: SubscriptionView, as_of: dt.datetime,
                                          options: SyncOptions = SyncOptions()) -> SyncResult:
        return self._sync(view.subscription.namespace, view.subscription.id, view, as_of, options, invoice=True)

    def sync_by_id_and_invoice_customer(self, namespace: str, subscription_id: str, as_of: dt.datetime,
                                        options: SyncOptions = SyncOptions()) -> SyncResult:
        return self._sync(namespace, subscription_id, None, as_of, options, invoice=True)

    def apply_stored_plan(self, plan: Plan) -> SyncResult:
        """Apply ``plan`` if the persisted state still has its basis fingerprint (§6.6, D-11)."""
        subject = self._resolve(plan.namespace, plan.subscription_id, None)
        bound = log.bind(**subject.context, as_of=plan.as_of.isoformat())
        with structlog.contextvars.bound_contextvars(**subject.context, as_of=plan.as_of.isoformat()):
            with self.billing.locked_transaction(plan.namespace, plan.customer_id):
                persisted = self._load(plan.namespace, plan.subscription_id, plan.customer_id)
                if persisted.fingerprint != plan.basis:
                    raise StalePlanError(
                        "the persisted state changed since the plan was computed; plan again",
                        plan_basis=plan.basis, current_basis=persisted.fingerprint, namespace=plan.namespace,
                        subscription_id=plan.subscription_id, customer_id=plan.customer_id,
                    )
                if not plan.is_empty:
                    apply_plan(plan, self._apply_ports())
                self._write_sync_state(plan.namespace, plan.subscription_id, has_billables=plan.has_billables,
                                       limit=plan.max_generation_time_limit)
        bound.info("sync.stored_plan_applied", basis=plan.basis[:12], empty=plan.is_empty)
        return SyncResult(view=subject.view, deleted=subject.deleted, plan=plan)

    # -- the flow (§6.2) ------------------------------------------------------------------------------
    def _sync(self, namespace: str, subscription_id: str, supplied: SubscriptionView | None, as_of: dt.datetime,
              options: SyncOptions, *, invoice: bool) -> SyncResult:
        as_of = require_utc(as_of, field="as_of")
        subject = self._resolve(namespace, subscription_id, supplied)
        with structlog.contextvars.bound_contextvars(**subject.context, as_of=as_of.isoformat()):
            result = self._sync_subject(subject, supplied, as_of, options)
        # Never after a dry run (D-07), a skipped sync, or the deleted-customer path (D-08, no plan).
        if invoice and not options.dry_run and not result.skipped and result.plan is not None:
            self._invoice_pending_lines(subject)
        return result

    def _resolve(self, namespace: str, subscription_id: str, supplied: SubscriptionView | None) -> _Subject:
        """Steps 1–2: the subscription by id (deleted included) and the view the target is built from."""
        resolved = self.subscriptions.resolve(namespace, subscription_id)
        view = supplied if supplied is not None else resolved.view
        deleted = resolved.deleted or view.subscription.deleted_at is not None
        sub = view.subscription
        return _Subject(
            namespace=namespace, subscription_id=subscription_id, customer_id=sub.customer_id,
            currency=sub.invoice_currency, settlement_mode=sub.settlement_mode,
            view=None if deleted else view, deleted=deleted,
        )

    def _sync_subject(self, subject: _Subject, supplied: SubscriptionView | None, as_of: dt.datetime,
                      options: SyncOptions) -> SyncResult:
        bound = log.bind(**subject.context, as_of=as_of.isoformat())
        view = subject.view

        # Step 3: the custom-currency gate (a deleted subscription always reconciles).
        if view is not None and self._custom_currency(view, supplied, subject):
            if options.skip_custom_currency_subscriptions:
                bound.info("sync.custom_currency_skipped")
                return SyncResult(view=view, deleted=subject.deleted, plan=None, skipped=True)
            raise CustomCurrencyNotSupportedError(
                "billing sync does not support subscriptions with custom-currency priced items", **subject.context
            )

        # Step 4: the customer (deletion time, end-proration mode) when there is something to bill.
        billables = has_billables(view)
        customer_deleted_at: dt.datetime | None = None
        end_proration_mode = DEFAULT_END_PRORATION_MODE
        if view is not None and billables:
            override = self.billing.get_customer_override(subject.namespace, subject.customer_id)
            customer_deleted_at = override.customer_deleted_at
            end_proration_mode = override.subscription_end_proration_mode
            if customer_deleted_at is not None and customer_deleted_at <= view.subscription.active_from:
                return self._customer_deleted_before_start(subject, options, bound)

        # Step 5: the fiat currency.
        if not is_fiat(subject.currency):
            raise InvalidCurrencyError(f"invoice currency {subject.currency!r} is not a fiat currency",
                                       **subject.context)

        # Step 6: lock, load, build, probe, plan, apply, sync state, commit (or roll back a dry run).
        with self.billing.locked_transaction(subject.namespace, subject.customer_id, rollback=options.dry_run):
            persisted = self._load(subject.namespace, subject.subscription_id, subject.customer_id)
            target = build_target_state(
                as_of=as_of, view=view, customer_deleted_at=customer_deleted_at,
                subscription_end_proration_mode=end_proration_mode, persisted=lookup_of(persisted),
            )
            inputs = PlanInputs(
                persisted=persisted, target=target,
                subscription=SubscriptionFacts(
                    namespace=subject.namespace, subscription_id=subject.subscription_id,
                    customer_id=subject.customer_id, currency=subject.currency,
                    settlement_mode=subject.settlement_mode,  # type: ignore[arg-type]
                ),
                settings=self.settings, charges_port_configured=self.charges is not None,
                has_billables=billables, as_of=as_of,
            )
            plan = reconciler.plan_probing(inputs, lambda probes: evaluate_probes(
                probes, namespace=subject.namespace, billing=self.billing, line_engine=self.line_engine,
                context=subject.context,
            ))
            if options.dry_run:
                log_dry_run(bound, plan, self.clock.now())
                bound.info("sync.dry_run", empty=plan.is_empty, basis=plan.basis[:12])
                return SyncResult(view=view, deleted=subject.deleted, plan=plan)
            if not plan.is_empty:
                apply_plan(plan, self._apply_ports())
            self._write_sync_state(subject.namespace, subject.subscription_id, has_billables=plan.has_billables,
                                   limit=plan.max_generation_time_limit)
        bound.info("sync.synced", empty=plan.is_empty, patches=len(plan.patches),
                   issue_updates=len(plan.issue_updates), basis=plan.basis[:12])
        return SyncResult(view=view, deleted=subject.deleted, plan=plan)

    def _custom_currency(self, view: SubscriptionView, supplied: SubscriptionView | None, subject: _Subject) -> bool:
        if has_custom_currency_billables(view, self.custom_currencies):
            return True
        if supplied is None:
            return False
        # An event's view can be stale: check the current one as well.
        current = self.subscriptions.resolve(subject.namespace, subject.subscription_id).view
        return has_custom_currency_billables(current, self.custom_currencies)

    def _customer_deleted_before_start(self, subject: _Subject, options: SyncOptions, bound: Any) -> SyncResult:
        """D-08: the sync state "prevent further syncs" under the customer lock; no plan, no invoicing."""
        with self.billing.locked_transaction(subject.namespace, subject.customer_id, rollback=options.dry_run):
            if not options.dry_run:
                self._write_sync_state(subject.namespace, subject.subscription_id, has_billables=False, limit=None,
                                       prevent_further_syncs=True)
        bound.info("sync.customer_deleted_before_start", dry_run=options.dry_run)
        return SyncResult(view=subject.view, deleted=subject.deleted, plan=None)

    # -- helpers --------------------------------------------------------------------------------------
    def _load(self, namespace: str, subscription_id: str, customer_id: str) -> PersistedState:
        return load_persisted_state(self.billing, namespace=namespace, subscription_id=subscription_id,
                                    customer_id=customer_id, charges=self.charges)

    def _apply_ports(self) -> ApplyPorts:
        return ApplyPorts(billing=self.billing, line_engine=self.line_engine, charges=self.charges)

    def _write_sync_state(self, namespace: str, subscription_id: str, *, has_billables: bool,
                          limit: dt.datetime | None, prevent_further_syncs: bool = False) -> None:
        self.sync_states.upsert(next_sync_state(
            namespace=namespace, subscription_id=subscription_id, now=self.clock.now(), has_billables=has_billables,
            max_generation_time_limit=limit, prevent_further_syncs=prevent_further_syncs,
        ))

    def _invoice_pending_lines(self, subject: _Subject) -> None:
        """After the commit, outside the sync transaction; "no lines to invoice" is not an error."""
        try:
            invoices = self.billing.invoice_pending_lines(
                subject.namespace, subject.customer_id,
                force_async_advance=self.settings.force_async_invoice_pending_lines, allow_partial=False,
                max_lines_per_invoice=self.settings.max_lines_per_collected_invoice,
            )
        except NothingToInvoiceError:
            log.info("sync.nothing_to_invoice", **subject.context)
            return
        log.info("sync.invoiced_pending_lines", invoices=[invoice.id for invoice in invoices], **subject.context)


__all__ = ["SyncService"]
