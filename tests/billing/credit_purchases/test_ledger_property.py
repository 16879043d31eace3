"""The ledger property of credit purchases (charges.md §10.4), with hypothesis.

Random sequences of purchases (all three settlements, some expiring), credit_only and
credit_then_invoice consumption and its corrections, invoice approvals and payment events (authorized,
paid, failed, voided, uncollectible) delivered through billing and redelivered to the engine, external
payment transitions, manual grant voids and clock moves. After every step:

- the store ledger's §2.11 invariants hold (``check_invariants``: balanced groups, grant accounting,
  ``balance = grants − consumption − reversals``, one grant / conversion / settlement per purchase);
- no purchase is granted twice (one grant row, one ledger grant), paid twice or linked twice;
- a purchase past ``created`` has its grant, and every stored amount is a ``Decimal``;
- a step that fails with a project error changes nothing.

Examples share the test's database (SQLite, and PostgreSQL when configured) and each runs on a fresh
customer with its own store object and clock, so no example sees another's rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from structlog.testing import capture_logs

from billing.clock import FrozenClock
from billing.credit_purchases.ledger_adapter import StoreLedgerAdapter
from billing.credit_purchases.models import PurchaseIntent
from billing.credit_purchases.service import CreditPurchaseService
from billing.credit_purchases.tables import GrantRow, InvoiceLinkRow, PaymentRow
from billing.errors import BillingError
from billing.ledger import LedgerChargeRef, StoreLedger, check_invariants
from billing.service import BillingService
from billing.store import Store
from billing.store.ledger_tables import LedgerEntryRow, LedgerGrantRow, LedgerGroupRow
from tests.billing.credit_purchases.conftest import CUSTOM_CURRENCIES, JAN_1, NS, manual_profile

_customers = itertools.count(1)

amounts = st.integers(min_value=1, max_value=150).map(Decimal)
purchase_step = st.tuples(st.just("purchase"), st.sampled_from(["promotional", "external", "invoice", "invoice"]), amounts,
                          st.sampled_from([None, None, 2, 30]))
consume_step = st.tuples(st.just("consume"), amounts, st.sampled_from(["credit_only", "credit_then_invoice"]))
correct_step = st.tuples(st.just("correct"), st.integers(0, 5), amounts)
invoice_step = st.tuples(st.just("invoice"), st.integers(0, 5),
                         st.sampled_from(["approve", "authorized", "paid", "failed", "void", "uncollectible"]))
redeliver_step = st.tuples(st.just("redeliver"), st.integers(0, 5),
                           st.sampled_from(["authorized", "paid", "failed", "voided", "uncollectible"]))
external_step = st.tuples(st.just("external"), st.integers(0, 5), st.sampled_from(["authorized", "settled"]))
void_step = st.tuples(st.just("grant_void"), st.integers(0, 5))
advance_step = st.tuples(st.just("advance"), st.sampled_from([1, 12, 72, 24 * 40]))
steps = st.lists(
    st.one_of(purchase_step, purchase_step, consume_step, consume_step, correct_step, invoice_step, invoice_step,
              invoice_step, redeliver_step, external_step, void_step, advance_step),
    min_size=1, max_size=14,
)
HOOKS = {"authorized": "on_payment_authorized", "paid": "on_payment_settled", "failed": "on_payment_failed",
         "voided": "on_invoice_voided", "uncollectible": "on_invoice_uncollectible"}


class World:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.customer = f"prop-{next(_customers)}"
        self.clock = FrozenClock(JAN_1)
        self.store = Store("sqlite://", clock=self.clock, engine=engine, custom_currencies=CUSTOM_CURRENCIES)
        self.billing = BillingService(self.store)
        self.billing.create_customer(NS, self.customer, customer_id=self.customer, billing_profile=manual_profile())
        self.ledger = StoreLedger(self.store)
        self.purchases = CreditPurchaseService(self.store, StoreLedgerAdapter(self.ledger))
        self.ids: list[str] = []
        self.runs: list[tuple[LedgerChargeRef, str]] = []

    def purchase(self, index: int) -> str | None:
        return self.ids[index % len(self.ids)] if self.ids else None

    def run(self, step: tuple) -> None:  # type: ignore[type-arg]
        kind, *args = step
        now = self.clock.now()
        if kind == "purchase":
            settlement, amount, expires_days = args
            data: dict = {"customer_id": self.customer, "currency": "USD", "name": "p", "credit_amount": amount,
                          "settlement": {"type": settlement}, "effective_at": now}
            if settlement != "promotional":
                data["cost_basis"] = {"type": "fiat", "rate": "1"}
            if expires_days is not None:
                data["expires_at"] = now + dt.timedelta(days=expires_days)
            self.ids.append(self.purchases.create(NS, PurchaseIntent.model_validate(data)).id)
        elif kind == "consume":
            amount, mode = args
            charge = LedgerChargeRef(id=f"{self.customer}-usage-{len(self.runs)}", namespace=NS, customer_id=self.customer,
                                     currency="USD")
            run_id = f"run-{len(self.runs)}"
            self.ledger.consume(charge, run_id=run_id, amount=amount, feature_key=None, booked_at=now,
                                source_as_of=now, mode=mode)
            self.runs.append((charge, run_id))
        elif kind == "correct" and self.runs:
            charge, run_id = self.runs[args[0] % len(self.runs)]
            self.ledger.correct(charge, run_id=run_id, amount=args[1], booked_at=now)
        elif kind in ("invoice", "redeliver", "external", "grant_void") and self.ids:
            self.purchase_step(kind, self.purchase(args[0]), *args[1:])  # type: ignore[arg-type]
        elif kind == "advance":
            self.clock.set(now + dt.timedelta(hours=args[0]))
            self.purchases.advance_customer(NS, self.customer)
            self.ledger.expire_due(NS, self.customer)

    def purchase_step(self, kind: str, charge_id: str, *args) -> None:  # type: ignore[no-untyped-def]
        purchase = self.purchases.get(NS, charge_id)
        if kind == "external":
            self.purchases.transition_external_payment(NS, charge_id, args[0])
        elif kind == "grant_void":
            self.purchases.void_credit_grant(NS, charge_id)
        elif purchase.link is None:
            return
        elif kind == "invoice":
            event, invoice_id = args[0], purchase.link.invoice_id
            draft = self.billing.get_invoice(NS, invoice_id).status.startswith("draft")
            if event == "approve" or draft:  # a payment event on a draft: approve it first
                self.billing.approve_invoice(NS, invoice_id)
            if event == "approve":
                return
            if event == "void":
                self.billing.void_invoice(NS, invoice_id)
            else:
                self.billing.payment_event(NS, invoice_id, event)
        else:  # billing re-running one engine hook of the purchase's invoice
            with self.store.unit_of_work() as uow:
                invoice = uow.invoices.require_row(NS, purchase.link.invoice_id)
                lines = [row for row in uow.invoices.line_rows(invoice.id, include_deleted=False)
                         if row.engine == "charge_creditpurchase"]
                getattr(self.purchases.engine, HOOKS[args[0]])(uow, invoice, lines)

    # -- the property ------------------------------------------------------------------------------
    def counts(self) -> tuple:  # type: ignore[type-arg]
        with self.store.unit_of_work(read_only=True) as uow:
            return tuple(uow.session.scalar(select(func.count()).select_from(table).where(table.namespace == NS))
                         for table in (LedgerGroupRow, LedgerEntryRow, GrantRow, PaymentRow, InvoiceLinkRow))

    def check(self) -> None:
        assert check_invariants(self.store, NS, self.customer) == []
        with self.store.unit_of_work(read_only=True) as uow:
            session = uow.session
            for table in (GrantRow, PaymentRow, InvoiceLinkRow):
                per_charge = Counter(session.scalars(select(table.charge_id).where(table.charge_id.in_(self.ids))))
                assert all(n == 1 for n in per_charge.values()), (table.__tablename__, per_charge)
            ledger_grants = Counter(session.scalars(select(LedgerGrantRow.source_charge_id)
                                                    .where(LedgerGrantRow.customer_id == self.customer)))
            assert all(n == 1 for n in ledger_grants.values()), ledger_grants
            settles = Counter(session.scalars(select(LedgerGroupRow.charge_id).where(
                LedgerGroupRow.customer_id == self.customer, LedgerGroupRow.kind == "payment_settle")))
            assert all(n == 1 for n in settles.values()), settles
            amounts = session.scalars(select(LedgerEntryRow.amount).where(LedgerEntryRow.customer_id == self.customer))
            assert all(isinstance(value, Decimal) for value in amounts)
            granted = set(session.scalars(select(GrantRow.charge_id).where(GrantRow.charge_id.in_(self.ids))))
        for purchase in self.purchases.list(NS, self.customer):
            assert (purchase.status != "created") == (purchase.id in granted), (purchase.id, purchase.status)
            assert (purchase.id in granted) == (purchase.id in ledger_grants)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(sequence=steps)
def test_random_purchase_usage_invoice_and_payment_sequences_keep_the_ledger_sound(store, sequence):
    with capture_logs():  # keeps the log lines of 200 examples out of the captured output
        world = World(store.engine)
        for step in sequence:
            before = world.counts()
            try:
                world.run(step)
            except BillingError:
                assert world.counts() == before, step  # a refused step leaves nothing behind
            world.check()
