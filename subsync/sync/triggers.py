"""Event handlers that trigger syncs (reconciler.md §6.7) and the customer-deletion validator.

Events of a namespace in ``settings.lockdown_namespaces`` are ignored. A handler that hits a
``PersistedStateIntegrityError`` logs it at error level with the identity and returns without asking
for a retry (terminal, D-16); any other exception propagates so that the delivery is retried.

| Event | Handling | ``as_of`` |
|---|---|---|
| subscription created / updated / continued | sync and invoice by view, skipping custom currency | now |
| subscription cancelled | with ``active_to``: sync and invoice by view; without: sync and invoice at now, then ``InvalidEventError`` | ``active_to`` |
| subscription deleted | ``sync_by_id``, no invoicing (view lookups exclude deleted records) | now |
| subscription sync requested | sync and invoice by id, skipping custom currency | now |
| standard invoice created | gathering invoices ignored; otherwise every subscription its lines reference is synced and invoiced by id, in id order; the first error aborts | now |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import structlog

from billing.errors import ConflictError
from billing.invoices import Invoice
from persistedstate.errors import PersistedStateIntegrityError
from subscriptions.models import SubscriptionView
from subsync.sync.errors import InvalidEventError
from subsync.sync.options import SyncOptions, SyncResult
from subsync.sync.service import SyncService

log = structlog.get_logger(__name__)

AUTOMATIC = SyncOptions(skip_custom_currency_subscriptions=True)
#: A subscription that ended less than this long ago is still synced before its customer is deleted.
RECENTLY_ENDED = dt.timedelta(hours=24)

T = TypeVar("T")


class SyncTriggers:
    def __init__(self, service: SyncService) -> None:
        self.service = service

    # -- subscription events ------------------------------------------------------------------------
    def subscription_created(self, view: SubscriptionView) -> SyncResult | None:
        return self._by_view("subscription.created", view)

    def subscription_updated(self, view: SubscriptionView) -> SyncResult | None:
        return self._by_view("subscription.updated", view)

    def subscription_continued(self, view: SubscriptionView) -> SyncResult | None:
        return self._by_view("subscription.continued", view)

    def subscription_cancelled(self, view: SubscriptionView) -> SyncResult | None:
        sub = view.subscription
        if sub.active_to is not None:
            return self._by_view("subscription.cancelled", view, as_of=sub.active_to)
        self._by_view("subscription.cancelled", view)
        raise InvalidEventError("active_to is required for canceled events", namespace=sub.namespace,
                                subscription_id=sub.id, customer_id=sub.customer_id)

    def subscription_deleted(self, namespace: str, subscription_id: str) -> SyncResult | None:
        return self._handle("subscription.deleted", namespace, subscription_id,
                            lambda: self.service.sync_by_id(namespace, subscription_id, self._now()))

    def subscription_sync_requested(self, namespace: str, subscription_id: str) -> SyncResult | None:
        return self._handle("subscription.sync_requested", namespace, subscription_id,
                            lambda: self.service.sync_by_id_and_invoice_customer(namespace, subscription_id,
                                                                                 self._now(), AUTOMATIC))

    # -- invoice events -----------------------------------------------------------------------------
    def standard_invoice_created(self, invoice: Invoice) -> list[SyncResult] | None:
        """Refill the future work the invoice consumed: sync every subscription its lines reference."""
        if invoice.kind == "gathering":
            return None
        subscription_ids = sorted({
            line.subscription.subscription_id for line in invoice.lines or () if line.subscription is not None
        })

        def sync_all() -> list[SyncResult]:
            results = []
            for subscription_id in subscription_ids:
                try:
                    results.append(self.service.sync_by_id_and_invoice_customer(
                        invoice.namespace, subscription_id, self._now(), AUTOMATIC))
                except Exception as error:
                    error.add_note(f"syncing subscription[{subscription_id}]")
                    log.warning("sync.trigger.subscription_failed", invoice_id=invoice.id,
                                subscription_id=subscription_id,
                                message=f"syncing subscription[{subscription_id}]: {error}")
                    raise
            return results

        return self._handle("invoice.standard_created", invoice.namespace, None, sync_all)

    # -- customer deletion --------------------------------------------------------------------------
    def validate_customer_deletion(self, namespace: str, customer_id: str) -> None:
        """Sync the customer's open, deleted and recently ended subscriptions (without the skip option),
        then refuse the deletion while a gathering invoice remains (``ConflictError``)."""
        now = self._now()
        page = self.service.subscriptions.list_subscriptions(
            namespaces=[namespace], customer_ids=[customer_id], include_deleted=True)
        for stored in page.items:
            view = SubscriptionView.model_validate(stored.view)
            ended = view.subscription.active_to
            deleted = stored.deleted_at is not None or view.subscription.deleted_at is not None
            if ended is None or deleted or ended > now - RECENTLY_ENDED:
                self.service.sync_by_id(namespace, stored.id, now)
        live_gathering = [
            invoice.id for invoice in self.service.billing.list_customer_invoices(namespace, customer_id)
            if invoice.kind == "gathering" and invoice.deleted_at is None
        ]
        if live_gathering:
            raise ConflictError(
                f"customer {customer_id!r} cannot be deleted: gathering invoice(s) {', '.join(live_gathering)}"
                " still hold pending lines (cancel its subscriptions first)"
            )

    # -- helpers ------------------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return self.service.clock.now()

    def _by_view(self, event: str, view: SubscriptionView, *, as_of: dt.datetime | None = None) -> SyncResult | None:
        sub = view.subscription
        return self._handle(event, sub.namespace, sub.id,
                            lambda: self.service.sync_by_view_and_invoice_customer(
                                view, as_of if as_of is not None else self._now(), AUTOMATIC))

    def _handle(self, event: str, namespace: str, subscription_id: str | None, run: Callable[[], T]) -> T | None:
        if namespace in self.service.settings.lockdown_namespaces:
            log.info("sync.trigger.lockdown", trigger=event, namespace=namespace, subscription_id=subscription_id)
            return None
        try:
            return run()
        except PersistedStateIntegrityError as error:
            # Terminal (D-16): retrying cannot help until the subscription or billing changes.
            log.error("sync.trigger.integrity_error", trigger=event, namespace=namespace,
                      subscription_id=error.subscription_id or subscription_id, customer_id=error.customer_id,
                      identity=error.identity, error=str(error), error_type=type(error).__name__)
            return None


__all__ = ["SyncTriggers"]
