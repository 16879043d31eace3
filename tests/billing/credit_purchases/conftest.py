"""Fixtures of the credit-purchase tests (charges.md §9): a customer with manual approval and explicit
payment events, the purchase service on the store fixture (SQLite, and PostgreSQL when
``SUBSYNC_TEST_DATABASE_URL`` is set) with either a ledger spy (``purchases``) or the store ledger
(``real``), intent builders and helpers that read the purchase tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from billing.charges.models import CreditPurchaseCharge
from billing.credit_purchases import repository
from billing.credit_purchases.ledger_adapter import StoreLedgerAdapter
from billing.credit_purchases.machines import machine_for
from billing.credit_purchases.models import PurchaseIntent
from billing.credit_purchases.purchase import CreditPurchase
from billing.credit_purchases.service import CreditPurchaseService
from billing.credit_purchases.tables import GrantRow, InvoiceLinkRow, PaymentRow
from billing.customers import BillingProfile, CollectionConfig, InvoicingConfig
from billing.ids import new_id
from billing.ledger import StoreLedger, check_invariants
from billing.period import Period
from tests.billing.builders import db_snapshot
from tests.billing.credit_purchases.spy import SpyLedger

UTC = dt.timezone.utc
NS = "ns"
CUSTOMER = "cust-1"
DEC_1 = dt.datetime(2025, 12, 1, tzinfo=UTC)
JAN_1 = dt.datetime(2026, 1, 1, tzinfo=UTC)
JAN_15 = dt.datetime(2026, 1, 15, 12, tzinfo=UTC)
FEB_1 = dt.datetime(2026, 2, 1, tzinfo=UTC)
MAR_1 = dt.datetime(2026, 3, 1, tzinfo=UTC)
JANUARY = Period(start=JAN_1, end=FEB_1)
CUSTOM_CURRENCIES = {"TOKENS": 3, "CREDITS": 2, "CENTS2": 2}


def intent(amount: str = "100", *, settlement: str = "invoice", rate: str | None = "0.5", currency: str = "USD",
           initial_status: str = "created", **fields: Any) -> PurchaseIntent:
    data: dict[str, Any] = {"customer_id": CUSTOMER, "currency": currency,
                            "name": fields.pop("name", "Credit Purchase"), "credit_amount": Decimal(amount)}
    if settlement == "external":
        data["settlement"] = {"type": "external", "initial_status": initial_status}
    else:
        data["settlement"] = {"type": settlement}
    if settlement != "promotional" and "cost_basis" not in fields and rate is not None:
        data["cost_basis"] = {"type": "fiat", "rate": Decimal(rate)}
    if "service_period" not in fields and "effective_at" not in fields:
        data.update(service_period=JANUARY, full_service_period=JANUARY, billing_period=JANUARY)
    data.update(fields)
    return PurchaseIntent.model_validate(data)


def manual_profile(payment_app: str = "manual") -> BillingProfile:
    return BillingProfile(
        collection=CollectionConfig(interval="PT0S"),
        invoicing=InvoicingConfig(auto_advance=False, draft_period="P1D"),
        payment_app=payment_app,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(database, clock):  # type: ignore[no-untyped-def]
    """The store fixture with the custom currencies these tests use (TOKENS has precision 3)."""
    from billing.store import Store

    url, schema = database
    instance = Store(url, clock=clock, schema=schema, custom_currencies=CUSTOM_CURRENCIES)
    instance.create_all()
    yield instance
    instance.dispose()


@pytest.fixture
def spy() -> SpyLedger:
    return SpyLedger()


@pytest.fixture
def billing(store, clock):  # type: ignore[no-untyped-def]
    from billing.service import BillingService

    clock.set(DEC_1)
    service = BillingService(store)
    service.create_customer(NS, "customer-1", customer_id=CUSTOMER, billing_profile=manual_profile())
    return service


@pytest.fixture
def purchases(store, billing, spy) -> CreditPurchaseService:  # type: ignore[no-untyped-def]
    return CreditPurchaseService(store, spy)


@pytest.fixture
def ledger(store) -> StoreLedger:  # type: ignore[no-untyped-def]
    return StoreLedger(store)


@pytest.fixture
def real(store, billing, ledger) -> CreditPurchaseService:  # type: ignore[no-untyped-def]
    return CreditPurchaseService(store, StoreLedgerAdapter(ledger))


@pytest.fixture
def statuses(monkeypatch) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (charge id, status) the charge repository persists, in order: the status history."""
    from billing.store.repositories.charges import ChargeRepository

    history: list[tuple[str, str]] = []
    original = ChargeRepository.save

    def save(self, charge, now):  # type: ignore[no-untyped-def]
        history.append((charge.id, str(charge.status)))
        return original(self, charge, now)

    monkeypatch.setattr(ChargeRepository, "save", save)
    return history


# -- reading the store ------------------------------------------------------------------------------


def count(store, row_type, charge_id: str | None = None) -> int:  # type: ignore[no-untyped-def]
    with store.unit_of_work(read_only=True) as uow:
        query = select(func.count()).select_from(row_type)
        if charge_id is not None:
            query = query.where(row_type.charge_id == charge_id)
        return uow.session.scalar(query)


def facts(store, charge_id: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(grant rows, link rows, payment rows) of a purchase."""
    return tuple(count(store, table, charge_id) for table in (GrantRow, InvoiceLinkRow, PaymentRow))  # type: ignore[return-value]


def snapshot(store):  # type: ignore[no-untyped-def]
    return db_snapshot(store)


def assert_ledger_sound(store, *, as_of: dt.datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    assert check_invariants(store, NS, CUSTOMER, as_of=as_of) == []


def insert_purchase(store, spy_or_service, purchase_intent: PurchaseIntent, *, status: str = "created",  # type: ignore[no-untyped-def]
                    state: dict | None = None) -> CreditPurchase:
    """A purchase stored in ``status`` without running any machine (a state to start a test from)."""
    from billing.credit_purchases.intents import normalize_intent
    from billing.credit_purchases.settings import DEFAULT_SETTINGS

    with store.unit_of_work() as uow:
        normalized = normalize_intent(purchase_intent, now=uow.now, custom_currencies=uow.custom_currencies,
                                      settings=DEFAULT_SETTINGS)
        charge = CreditPurchaseCharge(
            id=new_id(), namespace=NS, customer_id=CUSTOMER, currency=normalized.currency,
            tax_config=normalized.tax_config, status=status, state=state or {},
            intent=repository.charge_intent(normalized), created_at=uow.now, updated_at=uow.now, sequence=0)
        return repository.insert(uow, charge, normalized, None)


def fire(store, service: CreditPurchaseService, charge_id: str, trigger: str, **args: Any) -> CreditPurchase:  # type: ignore[no-untyped-def]
    """Fire one trigger on a freshly built machine, in its own transaction."""
    with store.unit_of_work() as uow:
        machine = machine_for(service.context(uow), repository.load(uow, NS, charge_id))
        machine.fire(trigger, **args)
        machine.advance_until_stable()
        return machine.purchase
