"""The charge-advance pass inside the periodic job (charges.md §1.8, §5.6.4): a deferred invoice-settled
credit purchase is invoiced by the first run after its invoice-at, exactly once; one customer's failure
does not stop the others; the summary carries the pass's counts only when it ran."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from billing.credit_purchases.models import FiatCostBasis, InvoiceSettlement, PurchaseIntent, PurchaseStatus
from billing.store.tables import InvoiceRow
from reconciler.settings import SyncSettings
from subsync.job import ReconcileJob
from subsync.sync.charges_stack import charges_stack
from tests.job.stores import NAMESPACE, START, seed

UTC = dt.timezone.utc
EFFECTIVE = START + dt.timedelta(days=10)


def deferred_purchase(store, customer: str, key: str = "order-1"):  # type: ignore[no-untyped-def]
    return charges_stack(store).purchases.create(NAMESPACE, PurchaseIntent(
        customer_id=customer, currency="USD", name="Credits", credit_amount="100", key=key,
        settlement=InvoiceSettlement(), cost_basis=FiatCostBasis(rate="0.5"), effective_at=EFFECTIVE,
    ))


def standard_invoices(store, customer: str) -> list[str]:  # type: ignore[no-untyped-def]
    with store.engine.connect() as connection:
        return list(connection.scalars(select(InvoiceRow.id).where(
            InvoiceRow.customer_id == customer, InvoiceRow.kind != "gathering")))


def test_deferred_invoice_purchase_is_invoiced_by_the_first_run_after_its_invoice_at(store, clock):
    seed(store, 1, per_customer=1)
    clock.set(START)
    purchase = deferred_purchase(store, "cus-00000")
    stack = charges_stack(store)
    assert purchase.status is PurchaseStatus.CREATED

    clock.set(EFFECTIVE - dt.timedelta(seconds=1))
    before = ReconcileJob.for_store(store).run()
    assert before.ok, before.failures
    assert before.charge_advance is None  # credits off and nothing due: the pass does not run
    assert stack.purchases.get(NAMESPACE, purchase.id).status is PurchaseStatus.CREATED
    assert stack.ledger.balance(NAMESPACE, "cus-00000", "USD") == 0
    assert standard_invoices(store, "cus-00000") == []

    clock.set(EFFECTIVE + dt.timedelta(hours=1))
    report = ReconcileJob.for_store(store).run()
    assert report.ok, report.failures
    assert report.charge_advance is not None
    assert (report.charge_advance.customers, report.charge_advance.purchases) == (1, 1)
    assert "1 credit purchase(s) advanced" in report.summary_line()
    assert report.as_dict()["charge_advance"]["purchases"] == 1
    after = stack.purchases.get(NAMESPACE, purchase.id)
    assert after.status is PurchaseStatus.PAYMENT_PENDING
    assert after.link is not None and after.link.invoice_id in standard_invoices(store, "cus-00000")
    assert stack.ledger.balance(NAMESPACE, "cus-00000", "USD") == Decimal("100")

    again = ReconcileJob.for_store(store).run()
    assert again.charge_advance is None
    assert stack.ledger.balance(NAMESPACE, "cus-00000", "USD") == Decimal("100")  # never granted twice
    assert len(stack.ledger.grants(NAMESPACE, "cus-00000")) == 1


def test_with_credits_enabled_the_pass_advances_the_charges_the_sync_created_then_reports_zero(store, clock):
    seed(store, 1, per_customer=1)
    clock.set(START + dt.timedelta(days=1))
    settings = SyncSettings(credits_enabled=True)
    first = ReconcileJob.for_store(store, settings=settings).run()
    assert first.ok, first.failures
    assert first.charge_advance is not None
    assert first.charge_advance.customers == 1 and first.charge_advance.charges >= 1
    assert charges_stack(store).due_customers(NAMESPACE) == []

    second = ReconcileJob.for_store(store, settings=settings).run()
    assert second.charge_advance is not None  # credits on: the pass runs even with nothing due
    assert (second.charge_advance.customers, second.charge_advance.charges,
            second.charge_advance.purchases) == (0, 0, 0)
    assert second.summary_line().endswith("for 0 customer(s), 0 failed")


def test_one_customers_failure_is_recorded_and_the_others_still_advance(store, clock, monkeypatch):
    seed(store, 2, per_customer=1)
    clock.set(START)
    broken = deferred_purchase(store, "cus-00000")
    fine = deferred_purchase(store, "cus-00001")
    clock.set(EFFECTIVE + dt.timedelta(hours=1))
    job = ReconcileJob.for_store(store)
    stack = job.charge_pass.stack  # type: ignore[union-attr]
    real = stack.charges.advance_charges

    def advance(namespace: str, customer_id: str):  # type: ignore[no-untyped-def]
        if customer_id == "cus-00000":
            raise RuntimeError("ledger unavailable")
        return real(namespace, customer_id)

    monkeypatch.setattr(stack.charges, "advance_charges", advance)
    report = job.run()
    assert not report.ok
    [failure] = report.failures
    assert (failure.customer_id, failure.stage, failure.subscription_id) == ("cus-00000", "charges", None)
    assert report.charge_advance.failed == 1 and report.charge_advance.purchases == 1
    assert stack.purchases.get(NAMESPACE, broken.id).status is PurchaseStatus.CREATED
    assert stack.purchases.get(NAMESPACE, fine.id).status is PurchaseStatus.PAYMENT_PENDING

    monkeypatch.setattr(stack.charges, "advance_charges", real)
    retried = ReconcileJob.for_store(store).run()
    assert retried.ok and retried.charge_advance.purchases == 1
    assert stack.purchases.get(NAMESPACE, broken.id).status is PurchaseStatus.PAYMENT_PENDING
