"""Property: random sequences of grants (all three settlements, priorities, expiries, feature filters,
future effective dates), consumption in both modes, corrections, clock moves with expiry, payments and
both voids. After every step no group is unbalanced, no purchase is granted twice, every §2.11
invariant holds (invariant 3: balance = grants − consumption − reversals), what the operations
returned matches what the ledger holds, and a refused operation leaves the ledger unchanged."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from billing.clock import FrozenClock
from billing.ledger import (
    LedgerConflictError,
    LedgerError,
    LedgerInvariantError,
    StoreLedger,
    check_invariants,
)
from billing.money import round_money
from billing.store import Store
from tests.billing.ledger.builders import NS, T0, consumer, purchase
from tests.billing.ledger.conftest import CUSTOM_CURRENCIES, row_counts

CENT = Decimal("0.01")
amounts = st.integers(min_value=1, max_value=4000).map(lambda cents: cents * CENT)
features = st.sampled_from([None, "api", "storage"])

grant_op = st.tuples(
    st.just("grant"),
    st.sampled_from(["promotional", "external", "invoice"]),
    amounts,
    st.integers(min_value=0, max_value=2),  # priority
    st.integers(min_value=-48, max_value=72),  # effective_at offset (hours from now)
    st.one_of(st.none(), st.integers(min_value=1, max_value=240)),  # expiry after effective_at (hours)
    st.sampled_from([(), ("api",), ("api", "storage")]),
    st.sampled_from(["1", "0.5"]),  # fiat cost basis of payment-backed purchases
)
consume_op = st.tuples(
    st.just("consume"),
    st.integers(min_value=0, max_value=2),  # charge
    st.integers(min_value=0, max_value=1),  # run
    amounts,
    features,
    st.sampled_from(["credit_only", "credit_then_invoice"]),
)
correct_op = st.tuples(st.just("correct"), st.integers(0, 2), st.integers(0, 1), st.integers(min_value=1, max_value=100))
advance_op = st.tuples(st.just("advance"), st.integers(min_value=1, max_value=200))
purchase_op = st.tuples(
    st.sampled_from(["authorize", "settle", "reverse", "void_manual", "void_invoice", "regrant"]),
    st.integers(min_value=0, max_value=7),
)
operations = st.lists(st.one_of(grant_op, consume_op, correct_op, advance_op, purchase_op), min_size=1, max_size=14)


class Run:
    """One example: its own customer and clock on the shared test database."""

    def __init__(self, url: str, schema: str | None) -> None:
        self.clock = FrozenClock(T0)
        self.store = Store(url, clock=self.clock, schema=schema, custom_currencies=CUSTOM_CURRENCIES)
        self.ledger = StoreLedger(self.store)
        self.customer = f"cust-{uuid.uuid4().hex[:12]}"
        self.purchases: list[Any] = []
        self.charges = [consumer(customer_id=self.customer) for _ in range(3)]
        self.consumed = Decimal(0)
        self.corrected = Decimal(0)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def step(self, op: tuple) -> None:
        kind = op[0]
        if kind == "grant":
            _, settlement, amount, priority, offset, expiry, filters, rate = op
            effective = self.now() + dt.timedelta(hours=offset)
            charge = purchase(
                amount, settlement=settlement, customer_id=self.customer, priority=priority,
                effective_at=effective, expires_at=None if expiry is None else effective + dt.timedelta(hours=expiry),
                feature_filters=filters, cost_basis=None if settlement == "promotional" else {"type": "fiat", "rate": rate},
            )
            if settlement == "promotional":
                self.ledger.on_promotional_credit_purchase(charge)
            else:
                self.ledger.on_credit_purchase_initiated(charge)
            self.purchases.append(charge)
        elif kind == "consume":
            _, index, run, amount, feature, mode = op
            result = self.ledger.consume(
                self.charges[index], run_id=f"run-{run}", amount=amount, feature_key=feature,
                booked_at=self.now(), source_as_of=self.now(), mode=mode,
            )
            assert result.total <= amount
            assert result.total == amount if mode == "credit_only" else result.negative_balance == 0
            self.consumed += result.total
        elif kind == "correct":
            _, index, run, percent = op
            charge = self.charges[index]
            open_ = sum((a.uncorrected for a in self.ledger.allocations(NS, charge.id, f"run-{run}")), Decimal(0))
            amount = round_money(open_ * percent / 100, 2)
            if amount <= 0:
                return
            result = self.ledger.correct(charge, run_id=f"run-{run}", amount=amount, booked_at=self.now())
            assert result.total == amount
            self.corrected += amount
        elif kind == "advance":
            self.clock.advance(dt.timedelta(hours=op[1]))
            self.ledger.expire_due(NS, self.customer)
        else:
            self.purchase_step(kind, op[1])

    def purchase_step(self, kind: str, index: int) -> None:
        if not self.purchases:
            return
        charge = self.purchases[index % len(self.purchases)]
        fiat = round_money(charge.intent.credit_amount * Decimal((charge.intent.cost_basis or {}).get("rate", "1")), 2)
        now = self.now()
        if kind == "regrant":
            try:
                self.ledger.on_credit_purchase_initiated(charge)
            except LedgerConflictError:
                return
            except LedgerError as error:  # a promotional purchase is refused by this entry point
                assert "promotional" in str(error)
                return
            raise AssertionError(f"purchase {charge.id} was granted twice")
        call = {
            "authorize": lambda: self.ledger.on_payment_authorized(charge, now, fiat),
            "settle": lambda: self.ledger.on_payment_settled(charge, now, fiat),
            "reverse": lambda: self.ledger.on_payment_authorization_reversed(charge, now, fiat),
            "void_manual": lambda: self.ledger.on_credit_grant_voided(charge, now),
            "void_invoice": lambda: self.ledger.on_credit_purchase_voided(charge, now, "voided"),
        }[kind]
        call()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_random_ledger_sequences_keep_every_invariant(store, ops):
    url = store.url
    run = Run(url, store.schema)
    try:
        for op in ops:
            before = row_counts(run.store)
            try:
                run.step(op)
                event(f"{op[0]}: done")
            except LedgerInvariantError:
                raise
            except LedgerError as error:
                event(f"{op[0]}: refused ({type(error).__name__})")
                assert row_counts(run.store) == before, f"refused {op} left entries behind"
            problems = check_invariants(run.store, NS, run.customer)
            assert problems == [], (op, problems)
            grants = run.ledger.grants(NS, run.customer)
            assert len({g.source_charge_id for g in grants}) == len(grants)
            allocated = sum((a.amount for c in run.charges for a in run.ledger.allocations(NS, c.id)), Decimal(0))
            corrected = sum((a.corrected for c in run.charges for a in run.ledger.allocations(NS, c.id)), Decimal(0))
            assert (allocated, corrected) == (run.consumed, run.corrected)
        if run.store.engine.dialect.name == "sqlite":
            with run.store.engine.connect() as connection:
                kinds = connection.execute(text("SELECT DISTINCT typeof(amount) FROM ledger_entries")).scalars().all()
            assert set(kinds) <= {"text"}
    finally:
        run.store.dispose()
