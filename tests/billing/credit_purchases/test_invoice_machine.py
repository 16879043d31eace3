"""The invoice-settlement state machine (charges.md §5.6.12, §10.1) with the store ledger.

Every transition IN-1 … IN-12 is driven the way production drives it (billing's invoice lifecycle
calling the engine's hooks) and asserts the reached status, the persisted status history, the
realization rows and the ledger groups. Every other (status, trigger) pair is delivered straight to
the service and asserts the error class (or the replay no-op) and an unchanged store (table dumps).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.errors import ChargeConflictError, ChargeValidationError, PreconditionFailed
from tests.billing.credit_purchases.conftest import (
    CUSTOMER,
    FEB_1,
    NS,
    assert_ledger_sound,
    facts,
    intent,
    snapshot,
)
from tests.billing.credit_purchases.helpers import approved, deliver, event_args, invoiced

BASE = {"amount": "100", "rate": "1"}


def kinds(ledger, charge_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [group.kind for group in ledger.groups(NS, CUSTOMER) if group.charge_id == charge_id]


def history(statuses, charge_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [status for cid, status in statuses if cid == charge_id]


def reach(status: str, real, billing, clock):  # type: ignore[no-untyped-def]
    """A purchase resting in ``status`` and its invoice (``created``: its gathering invoice)."""
    if status == "created":
        return real.create(NS, intent(**BASE)), None
    if status == "active.payment.pending":
        return invoiced(real, billing, clock, **BASE)
    purchase, invoice = approved(real, billing, clock, **BASE)
    events = {"active.payment.authorized": ["authorized"], "active.payment.failed": ["authorized", "failed"],
              "final": ["paid"]}
    if status == "final.voided":
        billing.void_invoice(NS, invoice.id)
    for event in events.get(status, []):
        billing.payment_event(NS, invoice.id, event)
    purchase = real.get(NS, purchase.id)
    assert purchase.status == status
    return purchase, billing.get_invoice(NS, invoice.id)


# -- every transition ------------------------------------------------------------------------------------

def test_IN_1_IN_2_invoice_created_grants_links_and_reaches_pending(real, billing, ledger, store, clock, statuses):
    created, _ = reach("created", real, billing, clock)
    assert facts(store, created.id) == (0, 0, 0) and kinds(ledger, created.id) == []
    purchase, invoice = invoiced(real, billing, clock, **BASE)  # a second purchase, invoiced with the first
    first = real.get(NS, created.id)
    for p in (first, purchase):
        assert p.status == "active.payment.pending" and p.advance_after is None
        assert facts(store, p.id) == (1, 1, 0) and kinds(ledger, p.id) == ["grant_issue"]
        assert history(statuses, p.id)[-2:] == ["active.initial_credit_grant", "active.payment.pending"]
        assert p.link is not None and p.link.invoice_id == invoice.id
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


def test_IN_3_payment_authorized(real, billing, ledger, store, clock, statuses):
    purchase, invoice = approved(real, billing, clock, **BASE)
    billing.payment_event(NS, invoice.id, "authorized")
    after = real.get(NS, purchase.id)
    assert after.status == "active.payment.authorized" and after.payment.status == "authorized"  # type: ignore[union-attr]
    assert history(statuses, purchase.id)[-1:] == ["active.payment.authorized"]
    assert facts(store, purchase.id) == (1, 1, 1)
    assert kinds(ledger, purchase.id) == ["grant_issue", "payment_authorize"]
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


def test_IN_4_IN_5_IN_7_paid_before_authorized(real, billing, ledger, store, clock, statuses):
    purchase, invoice = approved(real, billing, clock, **BASE)
    # billing authorizes before it settles; "paid" alone is delivered to the service directly
    deliver(store, real, purchase, "payment_paid")
    after = real.get(NS, purchase.id)
    assert after.status == "final" and after.payment.status == "settled"  # type: ignore[union-attr]
    assert history(statuses, purchase.id)[-3:] == ["active.payment.paid_and_authorized", "active.payment.settled",
                                                   "final"]
    assert kinds(ledger, purchase.id) == ["grant_issue", "payment_authorize", "payment_settle"]
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


def test_IN_6_IN_7_paid_after_authorized(real, billing, ledger, store, clock, statuses):
    purchase, invoice = reach("active.payment.authorized", real, billing, clock)
    assert billing.payment_event(NS, invoice.id, "paid").status == "paid"
    after = real.get(NS, purchase.id)
    assert after.status == "final" and after.payment.settled is not None  # type: ignore[union-attr]
    assert history(statuses, purchase.id)[-2:] == ["active.payment.settled", "final"]
    assert kinds(ledger, purchase.id) == ["grant_issue", "payment_authorize", "payment_settle"]
    vector = ledger.projection(NS, CUSTOMER, "USD", as_of=FEB_1).vector()
    assert (vector["OpenRecv_all"], vector["AuthRecv_all"], vector["Wash_all"]) == (0, 0, Decimal(-100))
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


def test_IN_8_failed_after_authorized_reverses_the_authorization(real, billing, ledger, store, clock, statuses):
    purchase, invoice = reach("active.payment.authorized", real, billing, clock)
    billing.payment_event(NS, invoice.id, "failed")
    after = real.get(NS, purchase.id)
    assert after.status == "active.payment.failed" and after.payment.status == "failed"  # type: ignore[union-attr]
    assert after.payment.failed is not None  # type: ignore[union-attr]
    assert history(statuses, purchase.id)[-1:] == ["active.payment.failed"]
    assert kinds(ledger, purchase.id)[-1] == "payment_authorization_reverse"
    vector = ledger.projection(NS, CUSTOMER, "USD", as_of=FEB_1).vector()
    assert (vector["OpenRecv_all"], vector["AuthRecv_all"]) == (Decimal(-100), 0)
    assert vector["FBO_all"] == Decimal(100)  # credits stay granted
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


@pytest.mark.parametrize(("event", "status", "last"), [
    ("authorized", "active.payment.authorized", "payment_authorize"),  # IN-9
    ("paid", "final", "payment_settle"),                                # IN-10, then IN-5, IN-7
])
def test_IN_9_IN_10_a_failed_payment_resumes(real, billing, ledger, store, clock, statuses, event, status, last):
    purchase, invoice = reach("active.payment.failed", real, billing, clock)
    billing.payment_event(NS, invoice.id, event)
    after = real.get(NS, purchase.id)
    assert after.status == status and facts(store, purchase.id) == (1, 1, 1)
    assert kinds(ledger, purchase.id)[-1] == last
    assert after.payment.failed is not None  # type: ignore[union-attr]  # the failure stays on record
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


@pytest.mark.parametrize(("start", "action", "reason"), [
    ("active.payment.pending", "void", "voided"),
    ("active.payment.pending", "uncollectible", "uncollectible"),
    ("active.payment.authorized", "void", "voided"),
    ("active.payment.failed", "void", "voided"),
    ("active.payment.failed", "uncollectible", "uncollectible"),
])
def test_IN_11_void_or_uncollectible_voids_the_purchase(real, billing, ledger, store, clock, statuses,
                                                       start, action, reason):
    if start == "active.payment.pending":
        purchase, invoice = approved(real, billing, clock, **BASE)
    else:
        purchase, invoice = reach(start, real, billing, clock)
    if action == "void":
        billing.void_invoice(NS, invoice.id)
    else:
        billing.payment_event(NS, invoice.id, "uncollectible")
    after = real.get(NS, purchase.id)
    assert after.status == "final.voided" and after.voided_at is not None
    assert after.charge.state["void_reason"] == reason
    assert history(statuses, purchase.id)[-1:] == ["final.voided"]
    assert kinds(ledger, purchase.id)[-1] == "purchase_void"
    if after.payment is not None:
        assert after.payment.status == "voided"
    vector = ledger.projection(NS, CUSTOMER, "USD", as_of=FEB_1).vector()
    assert (vector["FBO_all"], vector["OpenRecv_all"], vector["AuthRecv_all"]) == (0, 0, 0)
    assert_ledger_sound(store)
    assert_ledger_sound(store, as_of=FEB_1)


def test_IN_12_failed_while_pending_changes_nothing(real, billing, ledger, store, clock):
    purchase, invoice = approved(real, billing, clock, **BASE)
    before = snapshot(store)
    billing.payment_event(NS, invoice.id, "failed")
    assert real.get(NS, purchase.id).status == "active.payment.pending"
    after = snapshot(store)
    # only the invoice moved (payment_processing.failed); no purchase or ledger row changed
    changed = {table for table in before if before[table] != after[table]}
    assert changed == {"invoices"}


# -- every other (status, trigger) pair ------------------------------------------------------------------

STATUSES = ["created", "active.payment.pending", "active.payment.authorized", "active.payment.failed", "final",
            "final.voided"]
TRIGGERS = ["invoice_created", "payment_authorized", "payment_paid", "payment_failed", "invoice_voided"]
FIRES = {
    ("created", "invoice_created"), ("active.payment.pending", "payment_authorized"),
    ("active.payment.pending", "payment_paid"), ("active.payment.pending", "invoice_voided"),
    ("active.payment.authorized", "payment_paid"), ("active.payment.authorized", "payment_failed"),
    ("active.payment.authorized", "invoice_voided"), ("active.payment.failed", "payment_authorized"),
    ("active.payment.failed", "payment_paid"), ("active.payment.failed", "invoice_voided"),
    ("active.payment.pending", "payment_failed"),  # IN-12: an internal transition, nothing changes
}
REPLAYS = {
    *(((s, "invoice_created") for s in STATUSES if s != "created")),
    ("active.payment.authorized", "payment_authorized"), ("final", "payment_authorized"), ("final", "payment_paid"),
    ("active.payment.failed", "payment_failed"), ("final.voided", "invoice_voided"),
}
PAIRS = [(s, t) for s in STATUSES for t in TRIGGERS if (s, t) not in FIRES]


@pytest.mark.parametrize(("status", "trigger"), PAIRS)
def test_pairs_that_are_not_transitions(real, billing, store, clock, status, trigger):
    purchase, _ = reach(status, real, billing, clock)
    before = snapshot(store)
    if (status, trigger) in REPLAYS:
        assert deliver(store, real, purchase, trigger).status == status
    else:
        with pytest.raises(PreconditionFailed) as caught:
            deliver(store, real, purchase, trigger)
        if status == "final.voided":
            assert caught.value.code == "credit_purchase_charge_voided" or trigger == "payment_failed"
        if status == "final":
            assert "already settled" in str(caught.value)
        assert purchase.id in str(caught.value)
    assert snapshot(store) == before


@pytest.mark.parametrize("trigger", ["next", "extend", "delete", "set_override", "bogus"])
def test_unsupported_triggers_for_an_invoice_event(real, billing, store, clock, trigger):
    purchase, _ = reach("active.payment.pending", real, billing, clock)
    before = snapshot(store)
    with pytest.raises(ChargeValidationError, match="unsupported trigger"):
        deliver(store, real, purchase, trigger)
    assert snapshot(store) == before


def test_event_validation_rejects_malformed_events_before_any_write(real, billing, store, clock):
    purchase, _ = reach("active.payment.pending", real, billing, clock)
    args = event_args(store, purchase)
    line, invoice = args["line"], args["invoice"]
    before = snapshot(store)
    cases = {
        "no invoice": {"invoice": None},
        "no line": {"line": None},
        "empty invoice id": {"invoice": invoice.model_copy(update={"id": ""})},
        "namespace": {"line": line.model_copy(update={"namespace": "other"})},
        "charge": {"line": line.model_copy(update={"charge_id": "another-charge"})},
        "line not on invoice": {"line": line.model_copy(update={"invoice_id": "elsewhere"})},
    }
    for name, override in cases.items():
        with pytest.raises(ChargeValidationError):
            deliver(store, real, purchase, "payment_authorized", **override)
    assert snapshot(store) == before


def test_a_non_invoice_purchase_takes_no_invoice_event(real, store):
    external = real.create(NS, intent(settlement="external"))
    with pytest.raises(ChargeValidationError, match="not by invoice"):
        with store.unit_of_work() as uow:
            real.handle_invoice_event(uow, NS, external.id, "payment_authorized", None, None)


def test_invoice_created_naming_another_invoice_is_a_validation_error(real, billing, store, clock):
    purchase, _ = reach("active.payment.pending", real, billing, clock)
    args = event_args(store, purchase)
    other = args["invoice"].model_copy(update={"id": "inv-other"})
    line = args["line"].model_copy(update={"invoice_id": "inv-other"})
    before = snapshot(store)
    with pytest.raises(ChargeValidationError) as caught:
        deliver(store, real, purchase, "invoice_created", invoice=other, line=line)
    assert caught.value.code == "payment_event_mismatch" and "already invoiced on invoice" in str(caught.value)
    assert snapshot(store) == before
    with pytest.raises(ChargeConflictError):
        deliver(store, real, purchase, "payment_authorized", invoice=other, line=line)
    assert snapshot(store) == before
