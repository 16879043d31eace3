"""Backend routing (reconciler.md §3.5, §9.2.1; charges.md §7.1)."""

from __future__ import annotations

import pytest

from patches.errors import PlanInvariantError
from patches.model import Operation, Shape
from reconciler import plan
from reconciler.errors import CreditsUnavailableError, UnsupportedOperationError
from reconciler.routing import default_collection
from reconciler.settings import SyncSettings, resolve_credits
from subscriptions.models import RateCard
from tests.reconciler.factories import (
    Book,
    billing_flat,
    flat,
    ident,
    inputs,
    planning,
    scoped,
    subscription,
    target,
    unit,
)

MONTH = ("2026-01-01", "2026-02-01")


def _new_target(settlement_mode: str, rate_card: str):  # type: ignore[no-untyped-def]
    price = flat("100", "in_advance") if rate_card == "flat" else unit("1")
    return target(MONTH, price=price, sub=subscription(settlement_mode=settlement_mode), item_key="item-1",
                  phase_key="phase-1")


# §9.2.1: the fixture has an empty invoices mapping and a charges port; only the settlement mode is set.
@pytest.mark.parametrize(
    ("settlement_mode", "credits_enabled", "credit_then_invoice_enabled", "rate_card", "expected"),
    [
        pytest.param("credit_only", True, False, "flat", Shape.FLAT_FEE_CHARGE, id="credit only flat fee uses flat fee charges"),
        pytest.param("credit_only", False, False, "flat", Shape.LINE, id="credits disabled stays on invoice lines"),
        pytest.param("credit_only", True, False, "usage", Shape.USAGE_BASED_CHARGE, id="credit only usage uses usage based charges"),
        pytest.param("credit_then_invoice", True, False, "flat", Shape.LINE, id="credit then invoice disabled stays on invoice lines"),
        pytest.param("credit_then_invoice", True, True, "flat", Shape.FLAT_FEE_CHARGE, id="credit then invoice enabled flat fee uses flat fee charges"),
        pytest.param("credit_then_invoice", True, True, "usage", Shape.USAGE_BASED_CHARGE, id="credit then invoice enabled usage uses usage based charges"),
    ],
)
def test_default_collection_routing(settlement_mode, credits_enabled, credit_then_invoice_enabled, rate_card, expected) -> None:  # type: ignore[no-untyped-def]
    settings = SyncSettings(credits_enabled=credits_enabled, credit_then_invoice_enabled=credit_then_invoice_enabled)
    new = _new_target(settlement_mode, rate_card)
    result = plan(inputs([new], settings=settings, charges=True, settlement_mode=settlement_mode))
    assert [(p.operation, p.shape, p.identity) for p in result.patches] == [(Operation.CREATE, expected, new.unique_id)]


@pytest.mark.parametrize(
    ("persisted_shape", "expected_shape"),
    [
        pytest.param("invoice.line", Shape.LINE, id="line stays on the line collection with credits on"),
        pytest.param("invoice.split_line_group", Shape.SPLIT_LINE_GROUP, id="hierarchy stays on the hierarchy collection"),
        pytest.param("charge.flat_fee", Shape.FLAT_FEE_CHARGE, id="flat-fee charge stays a charge with credits off"),
        pytest.param("charge.usage_based", Shape.USAGE_BASED_CHARGE, id="usage charge stays a charge with credits off"),
    ],
)
def test_the_existing_backend_always_wins(persisted_shape: str, expected_shape: Shape) -> None:
    """§3.5: a persisted item is handled by the collection of its shape, whatever the settings say."""
    identity = ident()
    book = Book()
    book.gathering()
    credits_on = persisted_shape.startswith("invoice")
    price = flat("10") if persisted_shape == "charge.flat_fee" else unit("1")
    if persisted_shape == "invoice.line":
        book.line("l1", "gathering", ("2026-01-01", "2026-03-01"), identity=identity)
    elif persisted_shape == "invoice.split_line_group":
        book.hierarchy(identity, ("2026-01-01", "2026-03-01"), [("c1", "gathering", ("2026-01-01", "2026-03-01"))])
    elif persisted_shape == "charge.flat_fee":
        book.flat_fee_charge("ch-1", identity, ("2026-01-01", "2026-03-01"))
    else:
        book.usage_charge("ch-1", identity, ("2026-01-01", "2026-03-01"))
    shrunk = target(("2026-01-01", "2026-02-01"), price=price, name="api")
    settings = SyncSettings(credits_enabled=credits_on)
    result = plan(inputs([shrunk], book, settings=settings, charges=credits_on or persisted_shape.startswith("charge")))
    assert [(p.operation, p.shape) for p in result.patches] == [(Operation.SHRINK, expected_shape)]


def test_a_target_without_price_never_reaches_routing() -> None:
    """§3.5 row 3: non-billable targets are filtered out earlier, so a null price is an invariant."""
    free = target(MONTH, price=flat("1"))
    free = free.model_copy(update={"item": free.item.model_copy(update={"rate_card": RateCard(key="api", type="flat_fee")})})
    credits = resolve_credits(SyncSettings(credits_enabled=True))
    with pytest.raises(PlanInvariantError):
        default_collection(free, credits, settlement_mode="credit_only", context={"subscription_id": "sub-1"})
    assert default_collection(free, resolve_credits(SyncSettings()), settlement_mode="credit_only", context={}) == "invoice.line"


def test_credit_only_without_charges_port_fails() -> None:
    new = _new_target("credit_only", "flat")
    with pytest.raises(CreditsUnavailableError, match="credit only settlement mode is not supported") as raised:
        plan(inputs([new], settlement_mode="credit_only", charges=False))
    assert raised.value.subscription_id == "sub-1" and raised.value.customer_id == "cus-1"


def test_credit_only_with_credits_disabled_but_a_charges_port_routes_to_lines() -> None:
    new = _new_target("credit_only", "usage")
    result = plan(inputs([new], settlement_mode="credit_only", charges=True, settings=SyncSettings(credits_enabled=False)))
    assert [p.shape for p in result.patches] == [Shape.LINE]


def test_new_targets_are_never_routed_to_the_hierarchy_collection() -> None:
    request = inputs([_new_target("credit_then_invoice", "usage")])
    ctx, collections = planning(request)
    with pytest.raises(UnsupportedOperationError, match="unsupported operation create for line hierarchy invoice patches"):
        collections.hierarchy.add_create(scoped(ctx, request.target.items[0]))


def test_one_subscription_mixes_invoice_backed_old_periods_with_charge_backed_new_ones() -> None:
    """A gradual migration: the old period keeps its line, the new period becomes a charge."""
    book = Book()
    book.gathering()
    old = ident(period_index=0)
    book.line("l1", "gathering", ("2026-01-01", "2026-02-01"), identity=old, price=billing_flat("10"),
              invoice_at="2026-01-01")
    targets = [
        target(("2026-01-01", "2026-02-01"), price=flat("10"), period_index=0),
        target(("2026-02-01", "2026-03-01"), price=flat("10"), period_index=1),
    ]
    result = plan(inputs(targets, book, settings=SyncSettings(credits_enabled=True), charges=True))
    assert [(p.operation, p.shape, p.identity) for p in result.patches] == [
        (Operation.CREATE, Shape.FLAT_FEE_CHARGE, ident(period_index=1))
    ]
