"""Every posting kind of the §2.9 catalogue, with its exact postings, dimensions, group kind and
booking time."""

from __future__ import annotations

from decimal import Decimal

from billing.ledger.models import POSTING_KINDS
from tests.billing.ledger.builders import CUSTOMER, NS, T0, D, at, consumer, purchase
from tests.billing.ledger.conftest import assert_consistent, assert_legs, leg


def test_promotional_grant_is_grant_issue_and_promotional_settle_in_one_group(ledger, store):
    charge = purchase("100")
    group = ledger.group(NS, ledger.on_promotional_credit_purchase(charge))
    grant = ledger.grant_for_charge(NS, charge.id)
    assert grant is not None and grant.cost_basis == 0 and grant.issue_group_id == group.id
    assert (group.kind, group.booked_at, group.charge_id, group.grant_id) == ("grant_issue", T0, charge.id, grant.id)
    p = f"purchase:{charge.id}"
    assert_legs(
        group,
        leg("grant_issue", "fbo", "100", lot=grant.id, basis="0"),
        leg("grant_issue", "receivable", "-100", basis="0", status="open", source=p),
        leg("promotional_settle", "receivable", "100", basis="0", status="open", source=p),
        leg("promotional_settle", "receivable", "-100", basis="0", status="authorized", source=p),
        leg("promotional_settle", "receivable", "100", basis="0", status="authorized", source=p),
        leg("promotional_settle", "wash", "-100", basis="0"),
    )
    assert_consistent(store)


def test_custom_currency_promotional_grant_has_no_cost_basis(ledger, store):
    charge = purchase("100.123", currency="TOKENS")
    group = ledger.group(NS, ledger.on_promotional_credit_purchase(charge))
    grant = ledger.grant_for_charge(NS, charge.id)
    p = f"purchase:{charge.id}"
    assert grant is not None and grant.cost_basis is None and grant.amount == D("100.123")
    assert_legs(
        group,
        leg("grant_issue", "fbo", "100.123", currency="TOKENS", lot=grant.id),
        leg("grant_issue", "receivable", "-100.123", currency="TOKENS", status="open", source=p),
        leg("promotional_settle", "receivable", "100.123", currency="TOKENS", status="open", source=p),
        leg("promotional_settle", "receivable", "-100.123", currency="TOKENS", status="authorized", source=p),
        leg("promotional_settle", "receivable", "100.123", currency="TOKENS", status="authorized", source=p),
        leg("promotional_settle", "wash", "-100.123", currency="TOKENS"),
    )
    assert ledger.balance(NS, CUSTOMER, "TOKENS") == D("100.123")
    assert_consistent(store)


def test_payment_backed_grant_leaves_the_purchase_receivable_open(ledger, store):
    charge = purchase("100", settlement="invoice", cost_basis={"type": "fiat", "rate": "0.5"}, effective_at=at(5))
    group = ledger.group(NS, ledger.on_credit_purchase_initiated(charge))
    grant = ledger.grant_for_charge(NS, charge.id)
    assert grant is not None and grant.cost_basis == D("0.5") and grant.effective_at == at(5)
    assert group.booked_at == at(5)
    assert_legs(
        group,
        leg("grant_issue", "fbo", "100", lot=grant.id, basis="0.5"),
        leg("grant_issue", "receivable", "-100", basis="0.5", status="open", source=f"purchase:{charge.id}"),
    )


def test_consume_posts_one_pair_per_slice_and_negative_balance_open_for_a_credit_only_shortfall(ledger, store):
    first = purchase("10")
    second = purchase("5", settlement="invoice")
    ledger.on_promotional_credit_purchase(first)
    ledger.on_credit_purchase_initiated(second)
    lot_a = ledger.grant_for_charge(NS, first.id).id
    lot_b = ledger.grant_for_charge(NS, second.id).id
    charge = consumer()
    result = ledger.consume(
        charge, run_id="run-1", amount=D(18), feature_key=None, booked_at=at(2), source_as_of=at(2), mode="credit_only"
    )
    [record] = ledger.negative_balances(NS, CUSTOMER)
    group = ledger.group(NS, result.transaction_group_id)
    assert (group.kind, group.booked_at, group.charge_id, group.run_id) == ("consume", at(2), charge.id, "run-1")
    assert_legs(
        group,
        leg("consume", "fbo", "-10", lot=lot_a, basis="0"),
        leg("consume", "accrued", "10", basis="0"),
        leg("consume", "fbo", "-5", lot=lot_b, basis="1"),
        leg("consume", "accrued", "5", basis="1"),
        leg("negative_balance_open", "receivable", "-3", status="open", source=f"negative_balance:{record.id}"),
        leg("negative_balance_open", "accrued", "3"),
    )
    assert [(s.source, s.amount) for s in result.slices] == [("lot", 10), ("lot", 5), ("negative_balance", 3)]
    assert (record.amount, record.outstanding, record.source_kind, record.source_id) == (3, 3, "run", "run-1")
    assert_consistent(store)


def test_correct_is_the_inverse_of_the_slice(ledger, store):
    charge_p = purchase("10")
    ledger.on_promotional_credit_purchase(charge_p)
    lot = ledger.grant_for_charge(NS, charge_p.id).id
    charge = consumer()
    ledger.consume(charge, run_id="r", amount=D(6), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    correction = ledger.correct(charge, run_id="r", amount=D("5.81"), booked_at=at(3))
    group = ledger.group(NS, correction.transaction_group_id)
    assert (group.kind, group.booked_at) == ("correct", at(3))
    assert_legs(group, leg("correct", "accrued", "-5.81", basis="0"), leg("correct", "fbo", "5.81", lot=lot, basis="0"))
    assert ledger.balance(NS, CUSTOMER, "USD", as_of=at(4)) == D("9.81")


def test_run_accrual_authorization_and_settlement(ledger, store):
    charge = consumer()
    accrue = ledger.group(NS, ledger.on_invoice_usage_accrued(charge, "run-1", D(118), at(2)))
    authorize = ledger.group(NS, ledger.on_run_payment_authorized(charge, "run-1", at(3), D(118)))
    settle = ledger.group(NS, ledger.on_run_payment_settled(charge, "run-1", at(4), D(118)))
    run = "run:run-1"
    assert [g.kind for g in (accrue, authorize, settle)] == ["invoice_usage_accrue", "payment_authorize", "payment_settle"]
    assert [g.booked_at for g in (accrue, authorize, settle)] == [at(2), at(3), at(4)]
    assert_legs(
        accrue,
        leg("invoice_usage_accrue", "receivable", "-118", basis="1", status="open", source=run),
        leg("invoice_usage_accrue", "accrued", "118", basis="1"),
    )
    assert_legs(
        authorize,
        leg("payment_authorize", "receivable", "118", basis="1", status="open", source=run),
        leg("payment_authorize", "receivable", "-118", basis="1", status="authorized", source=run),
    )
    assert_legs(
        settle,
        leg("payment_settle", "receivable", "118", basis="1", status="authorized", source=run),
        leg("payment_settle", "wash", "-118", basis="1"),
    )
    assert ledger.projection(NS, CUSTOMER, "USD", as_of=at(5)).nonzero() == {
        "Accrued_all": 118, "Accrued_invoice": 118, "Wash_all": -118, "Wash_invoice": -118,
    }
    assert_consistent(store)


def test_accepts_rated_totals_for_the_accrual(ledger):
    from billing.rating import Totals

    group = ledger.group(NS, ledger.on_invoice_usage_accrued(consumer(), "run-9", Totals(amount=D(40), credits=D(10)), T0))
    assert sorted(e.amount for e in group.entries) == [D(-30), D(30)]


def test_custom_currency_authorization_converts_once_then_authorizes_in_fiat(ledger, store, clock):
    basis = {"type": "custom_currency", "mode": "dynamic", "fiat_currency": "USD"}
    charge = purchase("100", currency="TOKENS", settlement="invoice", cost_basis=basis, state={"resolved_cost_basis": "0.25"})
    ledger.on_credit_purchase_initiated(charge)
    clock.set(at(2))
    group = ledger.group(NS, ledger.on_payment_authorized(charge, at(2), D(25)))
    p = f"purchase:{charge.id}"
    assert (group.kind, group.booked_at) == ("payment_authorize", at(2))
    assert_legs(
        group,
        leg("payment_convert", "receivable", "100", currency="TOKENS", basis="0.25", status="open", source=p),
        leg("payment_convert", "brokerage", "-100", currency="TOKENS"),
        leg("payment_convert", "brokerage", "25", currency="USD"),
        leg("payment_convert", "receivable", "-25", basis="0.25", status="open", source=p),
        leg("payment_authorize", "receivable", "25", basis="0.25", status="open", source=p),
        leg("payment_authorize", "receivable", "-25", basis="0.25", status="authorized", source=p),
    )
    reverse = ledger.group(NS, ledger.on_payment_authorization_reversed(charge, at(2), D(25)))
    assert_legs(
        reverse,
        leg("payment_authorization_reverse", "receivable", "25", basis="0.25", status="authorized", source=p),
        leg("payment_authorization_reverse", "receivable", "-25", basis="0.25", status="open", source=p),
    )
    again = ledger.group(NS, ledger.on_payment_authorized(charge, at(2), D(25)))
    assert {e.posting for e in again.entries} == {"payment_authorize"}  # converted only once
    settle = ledger.group(NS, ledger.on_payment_settled(charge, at(2), D(25)))
    assert_legs(
        settle,
        leg("payment_settle", "receivable", "25", basis="0.25", status="authorized", source=p),
        leg("payment_settle", "wash", "-25", basis="0.25"),
    )
    tokens = ledger.projection(NS, CUSTOMER, "TOKENS")
    usd = ledger.projection(NS, CUSTOMER, "USD")
    assert (tokens.fbo_all, tokens.open_receivable_all, tokens.wash_all) == (100, 0, 0)
    assert (usd.open_receivable_all, usd.authorized_receivable_all, usd.wash_all) == (0, 0, -25)
    assert_consistent(store)


def test_fiat_authorization_converts_only_when_the_fiat_amount_differs_from_the_credit_amount(ledger):
    same = purchase("100", settlement="external")
    half = purchase("100", settlement="invoice", cost_basis={"type": "fiat", "rate": "0.5"})
    for charge in (same, half):
        ledger.on_credit_purchase_initiated(charge)
    plain = ledger.group(NS, ledger.on_payment_authorized(same, T0, D(100)))
    assert {e.posting for e in plain.entries} == {"payment_authorize"}
    converted = ledger.group(NS, ledger.on_payment_authorized(half, T0, D("49.99")))
    p = f"purchase:{half.id}"
    assert_legs(
        converted,
        leg("payment_convert", "receivable", "100", basis="0.5", status="open", source=p),
        leg("payment_convert", "brokerage", "-100"),
        leg("payment_convert", "brokerage", "49.99"),
        leg("payment_convert", "receivable", "-49.99", basis="0.5", status="open", source=p),
        leg("payment_authorize", "receivable", "49.99", basis="0.5", status="open", source=p),
        leg("payment_authorize", "receivable", "-49.99", basis="0.5", status="authorized", source=p),
    )


def test_expiry_moves_the_remainder_to_breakage_booked_at_expires_at(ledger, store, clock):
    charge = purchase("10", expires_at=at(10))
    ledger.on_promotional_credit_purchase(charge)
    grant = ledger.grant_for_charge(NS, charge.id)
    ledger.consume(consumer(), run_id="r", amount=D(4), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    clock.set(at(12))
    [group_id] = ledger.expire_due(NS, CUSTOMER)
    group = ledger.group(NS, group_id)
    assert (group.kind, group.booked_at, group.grant_id) == ("breakage", at(10), grant.id)
    assert_legs(
        group,
        leg("breakage", "fbo", "-6", lot=grant.id, basis="0"),
        leg("breakage", "breakage", "6", lot=grant.id, basis="0"),
    )
    assert_consistent(store)


def test_manual_grant_void_forfeits_the_remainder_against_the_open_receivable(ledger, store, clock):
    charge = purchase("100", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    ledger.consume(consumer(), run_id="r", amount=D(30), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    clock.set(at(2))
    group = ledger.group(NS, ledger.on_credit_grant_voided(charge, at(2)))
    grant = ledger.grant_for_charge(NS, charge.id)
    assert (group.kind, group.booked_at) == ("grant_void", at(2))
    assert_legs(
        group,
        leg("grant_void", "fbo", "-70", lot=grant.id, basis="1"),
        leg("grant_void", "receivable", "70", basis="1", status="open", source=f"purchase:{charge.id}"),
    )
    assert (grant.voided_at, grant.void_kind, grant.revoked_remainder) == (at(2), "manual", 70)
    assert_consistent(store)


def test_purchase_void_reverses_authorization_revokes_the_remainder_and_opens_a_negative_balance(ledger, store, clock):
    charge = purchase("100", settlement="invoice")
    ledger.on_credit_purchase_initiated(charge)
    ledger.consume(consumer(), run_id="r", amount=D(30), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_then_invoice")
    ledger.on_payment_authorized(charge, T0, D(100))
    clock.set(at(3))
    group = ledger.group(NS, ledger.on_credit_purchase_voided(charge, at(3), "uncollectible"))
    grant = ledger.grant_for_charge(NS, charge.id)
    [record] = ledger.negative_balances(NS, CUSTOMER)
    p = f"purchase:{charge.id}"
    assert (group.kind, group.booked_at, group.reason) == ("purchase_void", at(3), "uncollectible")
    assert_legs(
        group,
        leg("purchase_void", "receivable", "100", basis="1", status="authorized", source=p),
        leg("purchase_void", "receivable", "-100", basis="1", status="open", source=p),
        leg("purchase_void", "fbo", "-70", lot=grant.id, basis="1"),
        leg("purchase_void", "receivable", "70", basis="1", status="open", source=p),
        leg("purchase_void", "receivable", "30", basis="1", status="open", source=p),
        leg("purchase_void", "receivable", "-30", status="open", source=f"negative_balance:{record.id}"),
    )
    assert (record.amount, record.outstanding, record.source_kind, record.source_id) == (30, 30, "purchase", charge.id)
    assert (grant.void_kind, grant.revoked_remainder, grant.consumed_to_negative, grant.negative_balance_id) == (
        "invoice", 70, 30, record.id,
    )
    assert_consistent(store)


def test_purchase_void_reverses_the_conversion_and_takes_expired_credit_back_from_breakage(ledger, store, clock):
    basis = {"type": "custom_currency", "mode": "manual", "rate": "0.5", "fiat_currency": "USD"}
    charge = purchase("100", currency="TOKENS", settlement="invoice", cost_basis=basis, expires_at=at(5))
    ledger.on_credit_purchase_initiated(charge)
    ledger.consume(consumer("TOKENS"), run_id="r", amount=D(40), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    ledger.on_payment_authorized(charge, T0, D(50))
    ledger.on_payment_authorization_reversed(charge, T0, D(50))
    clock.set(at(6))
    group = ledger.group(NS, ledger.on_credit_purchase_voided(charge, at(6), "voided"))
    grant = ledger.grant_for_charge(NS, charge.id)
    [record] = ledger.negative_balances(NS, CUSTOMER)
    p = f"purchase:{charge.id}"
    assert_legs(
        group,
        leg("purchase_void", "receivable", "-100", currency="TOKENS", basis="0.5", status="open", source=p),
        leg("purchase_void", "brokerage", "100", currency="TOKENS"),
        leg("purchase_void", "brokerage", "-50"),
        leg("purchase_void", "receivable", "50", basis="0.5", status="open", source=p),
        leg("purchase_void", "breakage", "-60", currency="TOKENS", lot=grant.id, basis="0.5"),
        leg("purchase_void", "receivable", "60", currency="TOKENS", basis="0.5", status="open", source=p),
        leg("purchase_void", "receivable", "40", currency="TOKENS", basis="0.5", status="open", source=p),
        leg("purchase_void", "receivable", "-40", currency="TOKENS", status="open", source=f"negative_balance:{record.id}"),
    )
    assert (grant.revoked_remainder, grant.consumed_to_negative) == (60, 40)
    assert ledger.balance(NS, CUSTOMER, "TOKENS") == -40
    assert_consistent(store)


def test_covering_is_part_of_the_grant_group_booked_at_the_earlier_of_now_and_effective_at(ledger, store, clock):
    ledger.consume(consumer(), run_id="r", amount=D(7), feature_key=None, booked_at=T0, source_as_of=T0, mode="credit_only")
    [record] = ledger.negative_balances(NS, CUSTOMER)
    charge = purchase("10", effective_at=at(20))  # effective later than now: covering is booked now
    group = ledger.group(NS, ledger.on_promotional_credit_purchase(charge))
    grant = ledger.grant_for_charge(NS, charge.id)
    assert grant.covered_at_issue == 7 and group.booked_at == at(20)
    cover = [e for e in group.entries if e.source_kind == "negative_balance"]
    assert [(e.amount, e.booked_at) for e in cover] == [(D(7), T0)]
    assert [(e.posting, e.amount) for e in group.entries if e.account == "fbo"] == [("grant_issue", D(3))]
    assert ledger.negative_balances(NS, CUSTOMER)[0].outstanding == 0
    assert ledger.balance(NS, CUSTOMER, "USD", as_of=at(10)) == 0  # debt closed, lot not yet effective
    assert ledger.balance(NS, CUSTOMER, "USD", as_of=at(20)) == 3
    assert record.amount == 7
    assert_consistent(store)


def test_every_posting_kind_of_the_catalogue_is_exercised_by_this_module():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    missing = [kind for kind in POSTING_KINDS if f'leg("{kind}"' not in source]
    assert missing == []


def test_amounts_are_stored_as_exact_decimal_text_on_sqlite(ledger, store):
    from sqlalchemy import text

    ledger.on_promotional_credit_purchase(purchase("100.123", currency="TOKENS"))
    if store.engine.dialect.name != "sqlite":
        with store.engine.connect() as connection:
            kinds = connection.execute(
                text("SELECT DISTINCT data_type FROM information_schema.columns WHERE table_name = 'ledger_entries' AND column_name = 'amount'")
            ).scalars().all()
        assert kinds == ["numeric"]
        return
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT typeof(amount), amount FROM ledger_entries")).all()
    assert {kind for kind, _ in rows} == {"text"}
    assert {value for _, value in rows} == {"100.123", "-100.123"}
    assert isinstance(ledger.groups(NS, CUSTOMER)[0].entries[0].amount, Decimal)
