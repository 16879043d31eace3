"""Invoice settlement end to end through billing (charges.md §5.6.1–§5.6.7, §9.1, §9.2, §9.4, DV-09 …
DV-11, DV-16): gathering line, immediate and deferred invoicing, grant and link at invoice creation,
line pricing, approval, payment."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete
from structlog.testing import capture_logs

from billing.charges.errors import ChargeConflictError, ChargeValidationError, PreconditionFailed
from billing.credit_purchases import repository
from billing.credit_purchases.lines import check_lines
from billing.credit_purchases.tables import ChargeCostBasisRow, GrantRow
from billing.errors import StoreIntegrityError
from billing.period import Period
from billing.store.tables import InvoiceRow, LineRow
from tests.billing.credit_purchases.conftest import (
    CUSTOMER,
    DEC_1,
    FEB_1,
    JAN_1,
    JAN_15,
    JANUARY,
    MAR_1,
    NS,
    assert_ledger_sound,
    count,
    facts,
    intent,
    snapshot,
)
from tests.billing.credit_purchases.helpers import invoiced

TOKENS_MANUAL = {"type": "custom_currency", "mode": "manual", "rate": "0.5", "fiat_currency": "USD"}
TOKENS_DYNAMIC = {"type": "custom_currency", "mode": "dynamic", "fiat_currency": "USD"}


def gathering_lines(billing):  # type: ignore[no-untyped-def]
    invoices = [i for i in billing.list_customer_invoices(NS, CUSTOMER) if i.is_gathering and not i.deleted]
    return [line for invoice in invoices for line in invoice.live_lines()]


def standard_invoices(billing):  # type: ignore[no-untyped-def]
    return [i for i in billing.list_customer_invoices(NS, CUSTOMER) if i.is_standard and not i.deleted]


# -- creation and the gathering line (§5.6.2, §5.6.3) -----------------------------------------------------

def test_CP_09_invoice_lifecycle_fiat(purchases, billing, spy, store, clock, statuses):
    created = purchases.create(NS, intent(description="top-up", metadata={"source": "test"},
                                          annotations={"team": "a"}))
    assert created.status == "created" and created.grant is None and created.payment is None and spy.calls == []
    [line] = gathering_lines(billing)
    assert (line.currency, line.price.amount, line.price.payment_term) == ("USD", Decimal("50.00"), "in_advance")
    assert line.name == "Credit Purchase (100 USD credits)" and line.engine == "charge_creditpurchase"
    assert line.charge_id == created.id and line.service_period == JANUARY and line.invoice_at == DEC_1
    assert line.managed_by == "manual" and line.description == "top-up" and line.metadata == {"source": "test"}
    assert line.annotations == {"team": "a", "openmeter.io/taxable": "false", "openmeter.io/reason": "credit-purchase"}
    assert created.advance_after == JAN_1  # deferred: the service period starts later

    def initiated(p):
        assert p.status == "active.initial_credit_grant" and p.grant is None and p.link is None

    spy.checks["on_credit_purchase_initiated"] = initiated
    clock.set(JAN_1)
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    assert len(invoice.line_ids or ()) == 1 and invoice.status == "draft.manual_approval_needed"
    purchase = purchases.get(NS, created.id)
    assert purchase.status == "active.payment.pending" and purchase.advance_after is None
    assert purchase.grant is not None and purchase.grant.transaction_group_id == spy.calls[0].group
    assert purchase.link is not None and (purchase.link.invoice_id, purchase.link.line_id) == (invoice.id, line.id)
    assert [s for cid, s in statuses if cid == created.id][-2:] == ["active.initial_credit_grant",
                                                                   "active.payment.pending"]

    approved = billing.approve_invoice(NS, invoice.id)
    assert approved.status == "payment_processing.pending"
    assert spy.count("on_payment_authorized") == 0 and purchases.get(NS, created.id).payment is None
    [standard] = billing.get_invoice(NS, invoice.id).live_lines()
    assert (standard.totals.amount, standard.totals.total, standard.currency) == (Decimal(50), Decimal(50), "USD")
    assert standard.service_period == JANUARY and approved.totals.total == Decimal(50)
    detailed = purchases.get(NS, created.id).link.detailed_line  # type: ignore[union-attr]
    assert detailed is not None and (detailed.quantity, detailed.per_unit_amount) == (Decimal(100), Decimal("0.5"))
    assert detailed.amount == detailed.total == Decimal(50) and detailed.child_reference == "credit-purchase"

    paid = billing.payment_event(NS, invoice.id, "paid")
    assert paid.status == "paid"
    assert [c.operation for c in spy.calls] == ["on_credit_purchase_initiated", "on_payment_authorized",
                                                "on_payment_settled"]
    settled_call = spy.named("on_payment_settled")[0]
    assert settled_call.status == "active.payment.settled"
    assert settled_call.purchase.payment.authorized.transaction_group_id == spy.calls[1].group  # type: ignore[union-attr]
    final = purchases.get(NS, created.id)
    assert final.status == "final" and final.payment is not None and final.payment.status == "settled"
    assert final.payment.fiat_amount == Decimal(50) and final.payment.settled.transaction_group_id == settled_call.group  # type: ignore[union-attr]
    assert (final.payment.invoice_id, final.payment.line_id) == (invoice.id, line.id)


def test_CP_11_custom_currency_line_is_in_the_fiat_currency(purchases, billing, store):
    created = purchases.create(NS, intent("100.1234", currency="TOKENS", cost_basis=TOKENS_MANUAL,
                                          name="Custom Currency Credit Purchase"))
    assert created.credit_amount == Decimal("100.123")
    [line] = gathering_lines(billing)
    assert line.name == "Custom Currency Credit Purchase (100.123 TOKENS credits)"
    assert (line.currency, line.price.amount) == ("USD", Decimal("50.06"))
    assert created.resolved_cost_basis is not None and created.resolved_cost_basis.fiat_currency == "USD"


def test_C_064_unresolved_dynamic_basis_gets_a_zero_gathering_line(purchases, billing):
    created = purchases.create(NS, intent(currency="TOKENS", cost_basis=TOKENS_DYNAMIC, name="test invoice credits"))
    assert created.cost_basis is not None and created.resolved_cost_basis is None
    [line] = gathering_lines(billing)
    assert (line.currency, line.price.type, line.price.amount) == ("USD", "flat", Decimal(0))
    assert purchases.get(NS, created.id).resolved_cost_basis is None  # CP-08: previewing never resolves


def test_CP_05_initial_resolution_of_manual_and_pinned_bases(purchases, billing, store, clock):
    now = JAN_15.replace(microsecond=123456)
    clock.set(now)
    basis = purchases.add_currency_cost_basis(NS, "TOKENS", "USD", Decimal("0.25"), JAN_1)
    later = Period(start=FEB_1, end=MAR_1)  # deferred, so the lines stay on the gathering invoice
    periods = {"service_period": later, "full_service_period": later, "billing_period": later}
    manual = purchases.create(NS, intent(currency="TOKENS", cost_basis=TOKENS_MANUAL, key="m", **periods))
    pinned = purchases.create(NS, intent(currency="TOKENS", key="p", **periods, cost_basis={
        "type": "custom_currency", "mode": "pinned", "currency_cost_basis_id": basis.id, "fiat_currency": "USD"}))
    for purchase, rate, source in ((manual, "0.5", None), (pinned, "0.25", basis.id)):
        resolved = purchase.resolved_cost_basis
        assert resolved is not None and purchase.cost_basis is not None
        assert (resolved.rate, resolved.source_id, resolved.resolved_at) == (Decimal(rate), source, now)
    prices = sorted(line.price.amount for line in gathering_lines(billing))
    assert prices == [Decimal(25), Decimal(50)]
    with pytest.raises(StoreIntegrityError):
        with store.unit_of_work() as uow:
            uow.session.execute(delete(ChargeCostBasisRow).where(ChargeCostBasisRow.id == pinned.cost_basis.id))  # type: ignore[union-attr]
            uow.flush()
    assert purchases.get(NS, pinned.id).cost_basis is not None


@pytest.mark.parametrize(("currency", "fiat", "message"), [
    ("CREDITS", "USD", "currency cost basis currency mismatch"),
    ("TOKENS", "EUR", "currency cost basis fiat currency mismatch"),
])
def test_CP_06_pinned_mismatch_creates_nothing(purchases, store, currency, fiat, message):
    basis = purchases.add_currency_cost_basis(NS, currency, fiat, Decimal("0.25"), JAN_1)
    before = snapshot(store)
    with pytest.raises(ChargeValidationError, match=message):
        purchases.create(NS, intent(currency="TOKENS", cost_basis={
            "type": "custom_currency", "mode": "pinned", "currency_cost_basis_id": basis.id, "fiat_currency": "USD"}))
    assert snapshot(store) == before


# -- immediate versus deferred invoicing (§5.6.4) ---------------------------------------------------------

def test_CP_32_an_immediate_purchase_is_invoiced_at_once(purchases, billing, clock):
    clock.set(JAN_15)
    created = purchases.create(NS, intent("10", rate="1", effective_at=None, service_period=None,
                                          full_service_period=None, billing_period=None))
    assert created.status == "active.payment.pending" and created.grant is not None
    [invoice] = standard_invoices(billing)
    assert [line.charge_id for line in billing.get_invoice(NS, invoice.id).live_lines()] == [created.id]
    assert gathering_lines(billing) == []
    assert [i for i in billing.list_customer_invoices(NS, CUSTOMER) if i.is_gathering and not i.deleted] == []


def test_only_the_purchase_line_is_invoiced_immediately(purchases, billing, clock):
    from tests.billing.builders import flat_line

    clock.set(JAN_15)
    billing.create_pending_invoice_lines(NS, CUSTOMER, "USD", [flat_line(service_period=JANUARY)])
    created = purchases.create(NS, intent("10", rate="1", effective_at=JAN_15))
    [invoice] = standard_invoices(billing)
    assert [line.charge_id for line in billing.get_invoice(NS, invoice.id).live_lines()] == [created.id]
    assert len(gathering_lines(billing)) == 1


def test_DV_09_durable_immediate_invoicing_via_the_advance_pass(store, billing, spy, clock):
    from billing.credit_purchases.service import CreditPurchaseService, invoice_line_now

    attempts: list[str] = []

    def flaky(uow, purchase, line_id):  # type: ignore[no-untyped-def]
        attempts.append(line_id)
        if len(attempts) == 1:
            raise RuntimeError("billing is down")
        invoice_line_now(uow, purchase, line_id)

    service = CreditPurchaseService(store, spy, invoice_now=flaky)
    clock.set(JAN_15)
    with capture_logs() as logs:
        created = service.create(NS, intent("10", rate="1", effective_at=JAN_15))
    assert created.status == "created" and created.grant is None
    [failure] = [entry for entry in logs if entry["event"] == "credit_purchase.invoice_now_failed"]
    assert failure["log_level"] == "error" and failure["charge_id"] == created.id
    assert failure["namespace"] == NS and failure["line_id"] == attempts[0] and "billing is down" in failure["error"]
    assert len(gathering_lines(billing)) == 1 and standard_invoices(billing) == []
    [advanced] = service.advance_customer(NS, CUSTOMER)
    assert advanced.status == "active.payment.pending"
    assert service.advance_customer(NS, CUSTOMER) == []  # nothing left to do
    assert len(standard_invoices(billing)) == 1 and count(store, GrantRow, created.id) == 1


def test_DV_09_variant_the_regular_collection_picks_the_line_up_first(store, billing, spy, clock):
    from billing.credit_purchases.service import CreditPurchaseService

    def down(uow, purchase, line_id):  # type: ignore[no-untyped-def]
        raise RuntimeError("billing is down")

    service = CreditPurchaseService(store, spy, invoice_now=down)
    clock.set(JAN_15)
    created = service.create(NS, intent("10", rate="1", effective_at=JAN_15))
    billing.invoice_pending_lines(NS, CUSTOMER)
    assert service.get(NS, created.id).status == "active.payment.pending"
    before = snapshot(store)
    assert service.advance_customer(NS, CUSTOMER) == []
    assert snapshot(store) == before and spy.count("on_credit_purchase_initiated") == 1


def test_a_deferred_purchase_waits_and_the_advance_pass_picks_it_up(purchases, billing, spy, clock):
    created = purchases.create(NS, intent())
    assert purchases.advance_customer(NS, CUSTOMER) == []  # not due before the service starts
    assert purchases.get(NS, created.id).status == "created" and spy.calls == []
    clock.set(JAN_1)
    [advanced] = purchases.advance_customer(NS, CUSTOMER)
    assert advanced.status == "active.payment.pending" and len(standard_invoices(billing)) == 1


def test_DV_10_a_second_line_for_a_purchase_is_never_created(purchases, billing, store):
    created = purchases.create(NS, intent())
    with store.unit_of_work() as uow:
        ctx = purchases.context(uow)
        with pytest.raises(ChargeConflictError, match="already has live line"):
            purchases._gathering_line(ctx, repository.load(uow, NS, created.id))
    [line] = gathering_lines(billing)
    with pytest.raises(StoreIntegrityError):
        with store.unit_of_work() as uow:
            invoice = uow.invoices.require_row(NS, line.invoice_id)
            uow.lines.insert(invoice, line, uow.now)
            uow.flush()
    assert len(gathering_lines(billing)) == 1


def test_DV_11_the_invoice_takes_no_text_from_the_purchase(purchases, billing, clock):
    clock.set(JAN_15)
    purchases.create(NS, intent("10", rate="1", effective_at=JAN_15, name="Secret Name", description="Secret text"))
    [invoice] = standard_invoices(billing)
    header = invoice.header.model_dump(mode="json")
    assert not any("Secret" in str(value) for value in header.values())


def test_DV_16_system_deletion_of_the_draft_holding_a_purchase_line_is_refused(purchases, billing, store, clock):
    _, invoice = invoiced(purchases, billing, clock)
    before = snapshot(store)
    with pytest.raises(PreconditionFailed, match="charge-managed line cannot be updated"):
        billing.delete_invoice(NS, invoice.id, source="system")
    assert snapshot(store) == before


# -- the engine's checks (§5.6.5, CP-15, CP-16) ------------------------------------------------------------

def test_CP_16_lines_for_charges_input_reports_every_problem_at_once():
    invoice = InvoiceRow(id="inv-1", namespace="", customer_id=CUSTOMER)
    lines = [LineRow(id="l-1", namespace="ns", invoice_id="inv-1", charge_id="c-1"),
             LineRow(id="l-2", namespace="", invoice_id="inv-1", charge_id="c-1"),
             LineRow(id="l-3", namespace="", invoice_id="inv-2", charge_id=None)]
    with pytest.raises(ChargeValidationError) as caught:
        check_lines(invoice, lines)
    message = str(caught.value)
    for text in ("invoice namespace is required", "l-3: charge ID is required", "does not match invoice namespace",
                 "l-3 is on invoice inv-2", "credit purchase charge c-1 is referenced by multiple standard lines"):
        assert text in message
    check_lines(InvoiceRow(id="inv-1", namespace="ns"), [LineRow(id="l", namespace="ns", invoice_id="inv-1",
                                                                 charge_id="c")])


def test_CP_15_populating_an_unresolved_purchase_fails(purchases, billing, store, clock):
    from billing.credit_purchases.lines import populate

    created = purchases.create(NS, intent(currency="TOKENS", cost_basis=TOKENS_DYNAMIC))
    with store.unit_of_work() as uow:
        purchase = repository.load(uow, NS, created.id)
        [row] = repository.live_lines(uow, NS, created.id)
        with pytest.raises(PreconditionFailed, match="cost basis is unresolved"):
            populate(purchases.context(uow), purchase, row)


# -- dynamic cost basis with the real ledger (CP-29, CP-30) ----------------------------------------------------

def test_CP_29_dynamic_invoice_lifecycle(real, ledger, billing, store, clock):
    basis = real.add_currency_cost_basis(NS, "TOKENS", "USD", Decimal("0.25"), JAN_1)
    created = real.create(NS, intent(currency="TOKENS", cost_basis=TOKENS_DYNAMIC))
    assert created.status == "created" and created.resolved_cost_basis is None and created.grant is None
    assert [line.price.amount for line in gathering_lines(billing)] == [Decimal(0)]
    assert ledger.balance(NS, CUSTOMER, "TOKENS", as_of=FEB_1) == 0

    clock.set(JAN_1)
    [invoice] = billing.invoice_pending_lines(NS, CUSTOMER)
    [line] = billing.get_invoice(NS, invoice.id).live_lines()
    assert (line.currency, line.totals.amount, line.totals.total) == ("USD", Decimal(25), Decimal(25))
    purchase = real.get(NS, created.id)
    resolved = purchase.resolved_cost_basis
    assert purchase.status == "active.payment.pending" and resolved is not None
    assert (resolved.rate, resolved.source_id, resolved.resolved_at) == (Decimal("0.25"), basis.id, JAN_1)
    detailed = purchase.link.detailed_line  # type: ignore[union-attr]
    assert (detailed.quantity, detailed.per_unit_amount, detailed.total) == (Decimal(100), Decimal("0.25"), Decimal(25))  # type: ignore[union-attr]
    tokens = ledger.projection(NS, CUSTOMER, "TOKENS", as_of=FEB_1).vector()
    assert (tokens["FBO_all"], tokens["OpenRecv_all"]) == (Decimal(100), Decimal(-100))

    billing.approve_invoice(NS, invoice.id)
    assert billing.payment_event(NS, invoice.id, "authorized").status == "payment_processing.authorized"
    purchase = real.get(NS, created.id)
    assert purchase.status == "active.payment.authorized" and purchase.payment.fiat_amount == Decimal(25)  # type: ignore[union-attr]
    assert ledger.projection(NS, CUSTOMER, "TOKENS", as_of=FEB_1).vector()["OpenRecv_all"] == 0
    assert ledger.projection(NS, CUSTOMER, "USD", as_of=FEB_1).vector()["AuthRecv_all"] == Decimal(-25)

    assert billing.payment_event(NS, invoice.id, "paid").status == "paid"
    purchase = real.get(NS, created.id)
    assert purchase.status == "final" and purchase.payment.status == "settled"  # type: ignore[union-attr]
    usd = ledger.projection(NS, CUSTOMER, "USD", as_of=FEB_1).vector()
    assert (usd["AuthRecv_all"], usd["Wash_all"]) == (0, Decimal(-25))
    assert ledger.projection(NS, CUSTOMER, "TOKENS", as_of=FEB_1).vector()["FBO_all"] == Decimal(100)
    assert_ledger_sound(store, as_of=FEB_1)


def test_CP_30_a_failed_resolution_rolls_the_whole_invoice_creation_back(real, ledger, billing, store, clock):
    created = real.create(NS, intent(currency="TOKENS", cost_basis=TOKENS_DYNAMIC))
    clock.set(JAN_1)
    before = snapshot(store)
    with pytest.raises(PreconditionFailed, match="cost basis not found"):
        billing.invoice_pending_lines(NS, CUSTOMER)
    assert snapshot(store) == before
    purchase = real.get(NS, created.id)
    assert purchase.status == "created" and purchase.resolved_cost_basis is None and facts(store, created.id) == (0, 0, 0)
    assert standard_invoices(billing) == [] and ledger.balance(NS, CUSTOMER, "TOKENS", as_of=FEB_1) == 0
