"""Fixtures of the charges tests: a spy ledger (charges.md §9), the charges service on the store
fixtures of ``tests/conftest.py`` (SQLite, and PostgreSQL when configured), and builders."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from billing.charges.ledger_port import Consumption, CreditSlice
from billing.customers import BillingProfile
from billing.usage import NewUsageEvent

UTC = dt.timezone.utc
NS = "ns"
CUSTOMER = "cust-1"


def at(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=UTC)


class SpyLedger:
    """The §2.10 port as a spy: counts calls, returns fresh group ids, and simulates lots.

    ``credit`` is the positive credit available: ``credit_then_invoice`` consumption takes at most
    that; ``credit_only`` consumption takes it and covers any shortfall from a negative-balance
    record. Corrections give the amounts back to the lot. ``fail`` names an operation that raises.
    """

    def __init__(self, credit: Decimal = Decimal(0)) -> None:
        self.credit = Decimal(credit)
        self.negative = Decimal(0)
        self.calls: list[tuple[str, dict]] = []
        self.fail: str | None = None

    def _call(self, name: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
        if self.fail == name:
            raise RuntimeError(f"injected ledger failure in {name}")
        self.calls.append((name, kwargs))
        return f"tx-{name}-{uuid.uuid4().hex[:8]}"

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def consume(self, *, run, amount, feature_key, booked_at, source_as_of, mode):  # type: ignore[no-untyped-def]
        group = self._call("consume", run=run, amount=amount, booked_at=booked_at, source_as_of=source_as_of, mode=mode)
        slices = []
        take = min(self.credit, amount)
        if take > 0:
            slices.append(CreditSlice(source_id="lot-1", amount=take))
            self.credit -= take
        if mode == "credit_only" and amount > take:
            slices.append(CreditSlice(source_id="negative-1", amount=amount - take))
            self.negative += amount - take
        return Consumption(transaction_group_id=group, slices=tuple(slices))

    def correct(self, *, run, corrections, booked_at):  # type: ignore[no-untyped-def]
        group = self._call("correct", run=run, corrections=list(corrections), booked_at=booked_at)
        for request in corrections:
            if request.source_id == "lot-1":
                self.credit += request.amount
            else:
                self.negative -= request.amount
        return group

    def on_invoice_usage_accrued(self, *, run, totals, booked_at):  # type: ignore[no-untyped-def]
        return self._call("on_invoice_usage_accrued", run=run, totals=totals, booked_at=booked_at)

    def on_run_payment_authorized(self, *, run, event_at, fiat_amount):  # type: ignore[no-untyped-def]
        return self._call("on_run_payment_authorized", run=run, event_at=event_at, fiat_amount=fiat_amount)

    def on_run_payment_settled(self, *, run, event_at, fiat_amount):  # type: ignore[no-untyped-def]
        return self._call("on_run_payment_settled", run=run, event_at=event_at, fiat_amount=fiat_amount)


@pytest.fixture
def ledger() -> SpyLedger:
    return SpyLedger()


@pytest.fixture
def charges(store, ledger):  # type: ignore[no-untyped-def]
    from billing.charges.service import ChargesService

    return ChargesService(store, ledger)


MANUAL_APPROVAL = BillingProfile.model_validate({"invoicing": {"auto_advance": False}, "payment_app": "manual"})


@pytest.fixture
def customer(billing_service):  # type: ignore[no-untyped-def]
    billing_service.create_customer(NS, "customer-1", customer_id=CUSTOMER, billing_profile=MANUAL_APPROVAL)
    billing_service.register_meter(NS, "api-requests", "sum")
    return CUSTOMER


def usage(billing_service, *events: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    billing_service.ingest_usage(NS, CUSTOMER, "api-requests",
                                 [NewUsageEvent(time=at(t), value=Decimal(v)) for t, v in events])


def dump_tables(store) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every row of the billing tables, for "nothing changed" assertions."""
    from billing.store.tables import Base

    result: dict[str, list[tuple]] = {}
    with store.engine.connect() as connection:
        if store.schema:
            connection.execute(text(f'SET search_path TO "{store.schema}"'))
        for table in Base.metadata.sorted_tables:
            try:
                rows = connection.execute(table.select()).fetchall()
            except Exception:  # noqa: BLE001 - a table another engineer has not migrated yet
                continue
            result[table.name] = sorted((tuple(str(v) for v in row) for row in rows))
    return result
