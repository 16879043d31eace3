"""The charge-advance pass of the periodic job and of ``subsync charges advance`` (charges.md §1.8).

For every customer with work due — a flat-fee or usage charge whose ``advance_after`` has come, or an
invoice-settled credit purchase still ``created`` whose ``advance_after`` (its service start, §5.6.4)
has come — the pass runs the store's ``ChargesStack.advance_customer``: due charges are advanced under
the customer lock and the purchase advancer invoices the purchase's pending line (immediate invoicing
retried, deferred invoicing picked up). Customers run one by one; one customer's error is recorded
(stage ``charges``) and the pass goes on, exactly as the job isolates a failed sync.

Counts: ``charges`` is the number of due flat-fee/usage charges advanced; ``purchases`` the number of
credit purchases that left ``created`` during the pass (their line was invoiced and credits granted).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select

from billing.credit_purchases import repository as purchase_repository
from billing.credit_purchases.models import PurchaseStatus
from billing.store import Store
from billing.store.tables import CustomerRow
from subsync.job.report import SubscriptionFailure
from subsync.sync.charges_stack import ChargesStack, charges_stack

log = structlog.get_logger(__name__)


@dataclass
class ChargeAdvanceSummary:
    """What one charge-advance pass did."""

    customers: int = 0
    charges: int = 0
    purchases: int = 0
    failures: list[SubscriptionFailure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary_line(self) -> str:
        return (f"charge advance: {self.charges} charge(s) and {self.purchases} credit purchase(s) advanced"
                f" for {self.customers} customer(s), {self.failed} failed")

    def as_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "charges": self.charges, "purchases": self.purchases,
                "failed": self.failed, "failures": [failure.as_dict() for failure in self.failures]}


class ChargeAdvancePass:
    """The pass over one billing store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stack: ChargesStack | None = None

    @property
    def stack(self) -> ChargesStack:
        if self._stack is None:
            self._stack = charges_stack(self.store)
        return self._stack

    def namespaces(self) -> list[str]:
        """Every namespace that has a customer (the pass's default scope)."""
        with self.store.unit_of_work(read_only=True) as uow:
            return sorted(set(uow.session.scalars(select(CustomerRow.namespace).distinct())))

    def due(self, namespaces: Collection[str] | None = None,
            customers: Collection[str] | None = None) -> list[tuple[str, str]]:
        """(namespace, customer) pairs the pass has work for now, in order."""
        wanted = set(customers) if customers else None
        return [(namespace, customer)
                for namespace in (sorted(namespaces) if namespaces else self.namespaces())
                for customer in self.stack.due_customers(namespace)
                if wanted is None or customer in wanted]

    def run(self, pairs: Collection[tuple[str, str]]) -> ChargeAdvanceSummary:
        """Advance each (namespace, customer); a customer's error is recorded and the pass goes on."""
        summary = ChargeAdvanceSummary()
        for namespace, customer_id in pairs:
            with structlog.contextvars.bound_contextvars(namespace=namespace, customer_id=customer_id):
                summary.customers += 1
                try:
                    charges, purchases = self.advance_customer(namespace, customer_id)
                except Exception as exc:  # noqa: BLE001 - one customer never stops the pass (like a sync)
                    failure = SubscriptionFailure(namespace, None, customer_id, exc, stage="charges")
                    summary.failures.append(failure)
                    log.error("reconcile.charge_advance_failed", error_type=failure.category, error=failure.message)
                    continue
                summary.charges += charges
                summary.purchases += purchases
                log.info("reconcile.charges_advanced", charges=charges, purchases=purchases)
        return summary

    def advance_customer(self, namespace: str, customer_id: str) -> tuple[int, int]:
        """Run the pass for one customer; (charges advanced, credit purchases that left ``created``)."""
        with self.store.unit_of_work(read_only=True) as uow:
            waiting = purchase_repository.due_invoice_purchases(uow, namespace, customer_id, uow.now)
        advanced = self.stack.charges.advance_charges(namespace, customer_id)
        moved = sum(1 for charge_id in waiting
                    if self.stack.purchases.get(namespace, charge_id).status is not PurchaseStatus.CREATED)
        return len(advanced), moved

    def run_in_job(self, report: Any, *, namespaces: Collection[str] | None, customers: Collection[str] | None,
                   credits_enabled: bool) -> ChargeAdvanceSummary | None:
        """The job's step after the syncs: runs only when credits are on or a customer has work due; its
        counts go to ``report.charge_advance`` and its failures to ``report.failures``."""
        due = self.due(namespaces, customers)
        if not due and not credits_enabled:
            return None
        summary = self.run(due)
        report.charge_advance = summary
        report.failures.extend(summary.failures)
        return summary


__all__ = ["ChargeAdvancePass", "ChargeAdvanceSummary"]
