"""The charge collections (reconciler.md §3.13, §9.2.3, §9.2.4; charges.md §7.2, §7.3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.charges.models import ChargeSubscriptionReference, ProRating
from billing.prices import Discounts as BillingDiscounts
from billing.prices import TaxConfig as BillingTaxConfig
from patches.errors import PlanInvariantError
from patches.model import ChargeCreate, ChargeDelete, ChargeExtend, ChargeShrink, FlatFeeChargeIntent, Operation, Shape, UsageBasedChargeIntent
from reconciler import plan
from reconciler.errors import DuplicateChargePatchError, UnsupportedOperationError
from reconciler.scope import ScopedTarget
from reconciler.settings import SyncSettings
from subscriptions.models import Discounts, TaxConfig
from tests.reconciler.factories import Book, flat, inputs, period, planning, scoped, subscription, t, target, unit

CREDITS = SyncSettings(credits_enabled=True)

# §9.2.3 fixture
SUB = "subscription-id"
SERVICE = ("2026-01-01", "2026-03-01")
FULL = ("2026-01-01", "2026-04-01")
BILLING = ("2026-01-01", "2026-05-01")


def _fixture_target(kind: str, settlement_mode: str, **fields):  # type: ignore[no-untyped-def]
    sub = subscription(sub_id=SUB, customer_id="customer-id", namespace="namespace", settlement_mode=settlement_mode)
    if kind == "flat":
        fields.setdefault("price", flat("10", "in_advance"))
        fields.setdefault("tax_config", TaxConfig(code="tax-code-id"))
    else:
        fields.setdefault("price", unit("1"))
        fields.setdefault("feature_key", "feature-key")
    return target(SERVICE, full=FULL, billing=BILLING, sub=sub, phase_key="phase-key", phase_id="phase-id",
                  item_key="item-key", item_id="item-id", **fields)


@pytest.mark.parametrize(
    ("kind", "charge_id", "existing_service", "settlement_mode", "call", "step_type"),
    [
        pytest.param("flat", "flat-fee-charge", ("2026-01-01", "2026-04-01"), "credit_only", "add_shrink", ChargeShrink, id="flat fee credit only shrink"),
        pytest.param("flat", "flat-fee-charge", ("2026-01-01", "2026-02-01"), "credit_only", "add_extend", ChargeExtend, id="flat fee credit only extend"),
        pytest.param("usage", "usage-based-charge", ("2026-01-01", "2026-04-01"), "credit_only", "add_shrink", ChargeShrink, id="usage credit only shrink"),
        pytest.param("usage", "usage-based-charge", ("2026-01-01", "2026-04-01"), "credit_then_invoice", "add_shrink", ChargeShrink, id="usage credit-then-invoice shrink"),
        pytest.param("usage", "usage-based-charge", ("2026-01-01", "2026-02-01"), "credit_only", "add_extend", ChargeExtend, id="usage credit only extend"),
        pytest.param("usage", "usage-based-charge", ("2026-01-01", "2026-02-01"), "credit_then_invoice", "add_extend", ChargeExtend, id="usage credit-then-invoice extend"),
    ],
)
def test_native_shrink_and_extend(kind, charge_id, existing_service, settlement_mode, call, step_type) -> None:  # type: ignore[no-untyped-def]
    new = _fixture_target(kind, settlement_mode)
    book = Book(SUB)
    add = book.flat_fee_charge if kind == "flat" else book.usage_charge
    existing = add(charge_id, new.unique_id, existing_service, full=FULL, billing=BILLING, settlement_mode=settlement_mode,
                   phase_id="phase-id", item_id="item-id")
    request = inputs([new], book, settings=CREDITS, charges=True, settlement_mode=settlement_mode, sub_id=SUB,
                     customer_id="customer-id", namespace="namespace")
    _, collections = planning(request)
    collection = collections.flat_fee if kind == "flat" else collections.usage_based
    getattr(collection, call)(existing, new)
    assert collection.creates == []
    assert list(collection.patches_by_charge_id) == [charge_id]
    (patch,) = collection.patches
    (step,) = patch.steps
    assert isinstance(step, step_type) and step.charge_id == charge_id and step.change_source == "system"
    values = step.changes
    assert values.service_period_end.new == t("2026-03-01")
    assert values.full_service_period_end.new == t("2026-04-01")
    assert values.billing_period_end.new == t("2026-05-01")
    assert values.invoice_at.new == new.invoice_at == t("2026-01-01" if kind == "flat" else "2026-05-01")


@pytest.mark.parametrize(
    ("unit_config", "expected"),
    [
        pytest.param({"operation": "divide", "conversion_factor": "1000", "rounding": "ceiling"},
                     {"operation": "divide", "conversion_factor": "1000", "rounding": "ceiling"},
                     id="copies the rate card unit config"),
        pytest.param(None, None, id="leaves unit config null"),
    ],
)
def test_usage_intent_unit_config(unit_config, expected) -> None:  # type: ignore[no-untyped-def]
    new = _fixture_target("usage", "credit_then_invoice", unit_config=unit_config)
    result = plan(inputs([new], settings=CREDITS, charges=True, sub_id=SUB, customer_id="customer-id"))
    (patch,) = result.patches
    intent = patch.steps[0].intent
    assert isinstance(intent, UsageBasedChargeIntent)
    assert intent.unit_config == expected
    if expected is not None:
        assert intent.unit_config is not new.item.rate_card.unit_config


def _create(new, settlement_mode: str = "credit_then_invoice"):  # type: ignore[no-untyped-def]
    result = plan(inputs([new], settings=CREDITS, charges=True, settlement_mode=settlement_mode))
    (patch,) = result.patches
    assert patch.operation is Operation.CREATE
    (step,) = patch.steps
    assert isinstance(step, ChargeCreate)
    return patch, step.intent


def test_flat_fee_intent_fields() -> None:
    new = target(("2025-01-10", "2025-02-01"), full=("2025-01-01", "2025-02-01"), price=flat("31", "in_arrears"),
                 sub=subscription(settlement_mode="credit_only"), name="Seat fee",
                 tax_config=TaxConfig(behavior="exclusive", code="tx"),
                 discounts=Discounts(percentage=Decimal(10), usage=Decimal(3)), feature_key="seats",
                 annotations={"team": "a"}, metadata={"k": "v"})
    patch, intent = _create(new, "credit_only")
    assert patch.shape is Shape.FLAT_FEE_CHARGE and isinstance(intent, FlatFeeChargeIntent)
    assert intent.managed_by == "subscription" and intent.customer_id == "cus-1"
    assert intent.annotations == {"team": "a"} and intent.metadata == {"k": "v"}
    assert intent.currency == "USD" and intent.unique_reference_id == new.unique_id
    assert intent.tax_config == BillingTaxConfig(behavior="exclusive", code="tx")
    assert intent.subscription == ChargeSubscriptionReference(subscription_id="sub-1", phase_id=new.phase_id, item_id=new.item.id)
    assert intent.name == "Seat fee"
    assert intent.service_period == period("2025-01-10", "2025-02-01")
    assert intent.full_service_period == period("2025-01-01", "2025-02-01")
    assert intent.billing_period == period("2025-01-10", "2025-02-01")
    assert intent.invoice_at == new.invoice_at
    assert intent.payment_term == "in_arrears"
    assert intent.amount_before_proration == Decimal("31.00")  # not prorated: the charge prorates itself
    assert intent.pro_rating == ProRating(enabled=True, mode="prorate_prices")
    assert intent.percentage_discounts == BillingDiscounts(percentage=Decimal(10))
    assert intent.feature_key == "seats" and intent.settlement_mode == "credit_only"


def test_usage_intent_fields() -> None:
    new = target(("2025-01-01", "2025-02-01"), price=unit("0.5"), discounts=Discounts(percentage=Decimal(10), usage=Decimal(3)))
    patch, intent = _create(new)
    assert patch.shape is Shape.USAGE_BASED_CHARGE and isinstance(intent, UsageBasedChargeIntent)
    assert intent.price.amount == Decimal("0.5") and intent.price.type == "unit"
    assert intent.discounts == BillingDiscounts(percentage=Decimal(10), usage=Decimal(3))
    assert intent.feature_key == ""  # no feature key: empty string
    assert intent.unit_config is None and intent.settlement_mode == "credit_then_invoice"


def test_intent_annotations_are_copies_of_the_subscription_item() -> None:
    nested = {"labels": {"a": 1}}
    new = target(("2025-01-01", "2025-02-01"), price=unit("1"), annotations=nested)
    _, intent = _create(new)
    assert intent.annotations == nested
    assert intent.annotations["labels"] is not new.item.annotations["labels"]


def test_delete_refunds_as_credits_without_ownership_or_annotation_checks() -> None:
    book = Book()
    item = book.flat_fee_charge("ch-1", "sub-1/main/api/v[0]/period[0]", ("2025-01-01", "2025-02-01"))
    manual = item.charge.model_copy(update={"base": item.charge.base.model_copy(
        update={"managed_by": "manual", "annotations": {"billing.subscription.sync.ignore": True}})})
    book.items[-1] = item.model_copy(update={"charge": manual})
    result = plan(inputs([], book, settings=CREDITS, charges=True))
    (patch,) = result.patches
    (step,) = patch.steps
    assert patch.operation is Operation.DELETE and isinstance(step, ChargeDelete)
    assert step.charge_id == "ch-1" and step.refund_policy == "refund_as_credits" and step.change_source == "system"


def test_s038_cancelling_a_one_time_in_advance_fee_extends_service_and_shrinks_billing() -> None:
    identity = "sub-1/main/setup/v[0]"
    book = Book()
    book.flat_fee_charge("ch-1", identity, ("2025-01-01", "2025-01-01"), full=("2025-01-01", "2025-03-01"),
                         billing=("2025-01-01", "2025-03-01"), invoice_at="2025-01-01")
    cancelled = target(("2025-01-01", "2025-02-10"), item_key="setup", period_index=None, price=flat("5"),
                       full=("2025-01-01", "2025-02-10"), billing=("2025-01-01", "2025-02-10"))
    (patch,) = plan(inputs([cancelled], book, settings=CREDITS, charges=True)).patches
    (step,) = patch.steps
    assert patch.operation is Operation.EXTEND and isinstance(step, ChargeExtend)
    assert step.changes.service_period_end.new > step.changes.service_period_end.old
    assert step.changes.billing_period_end.new < step.changes.billing_period_end.old


def test_prorate_is_unsupported_for_charges() -> None:
    book = Book()
    item = book.usage_charge("ch-1", "sub-1/main/api/v[0]/period[0]", ("2025-01-01", "2025-02-01"))
    request = inputs([target(("2025-01-01", "2025-02-01"))], book, settings=CREDITS, charges=True)
    _, collections = planning(request)
    with pytest.raises(UnsupportedOperationError, match="unsupported operation prorate for charge patches"):
        collections.usage_based.add_prorate(item, request.target.items[0])


def test_a_second_patch_for_one_charge_is_an_error() -> None:
    book = Book()
    item = book.usage_charge("ch-1", "sub-1/main/api/v[0]/period[0]", ("2025-01-01", "2025-02-01"))
    request = inputs([target(("2025-01-01", "2025-01-15"))], book, settings=CREDITS, charges=True)
    _, collections = planning(request)
    collections.usage_based.add_shrink(item, request.target.items[0])
    with pytest.raises(DuplicateChargePatchError, match="patch for charge ID ch-1 already exists") as raised:
        collections.usage_based.add_delete(item)
    assert raised.value.charge_id == "ch-1" and raised.value.subscription_id == "sub-1"


def test_an_item_of_the_other_charge_type_is_an_invariant_error() -> None:
    book = Book()
    item = book.usage_charge("ch-1", "sub-1/main/api/v[0]/period[0]", ("2025-01-01", "2025-02-01"))
    request = inputs([target(("2025-01-01", "2025-01-15"))], book, settings=CREDITS, charges=True)
    _, collections = planning(request)
    with pytest.raises(PlanInvariantError):
        collections.flat_fee.add_shrink(item, request.target.items[0])  # type: ignore[arg-type]
    with pytest.raises(PlanInvariantError):
        collections.flat_fee.add_delete(item)  # type: ignore[arg-type]


def test_a_patch_against_the_direction_is_an_invariant_error() -> None:
    book = Book()
    item = book.usage_charge("ch-1", "sub-1/main/api/v[0]/period[0]", ("2025-01-01", "2025-02-01"))
    request = inputs([target(("2025-01-01", "2025-01-15"))], book, settings=CREDITS, charges=True)
    _, collections = planning(request)
    with pytest.raises(PlanInvariantError):
        collections.usage_based.add_extend(item, request.target.items[0])


def test_a_create_without_identity_is_an_invariant_error() -> None:
    request = inputs([target(("2025-01-01", "2025-02-01"))], settings=CREDITS, charges=True)
    ctx, collections = planning(request)

    class Nameless(ScopedTarget):
        @property
        def identity(self) -> str:
            return ""

    real = scoped(ctx, request.target.items[0])
    with pytest.raises(PlanInvariantError):
        collections.usage_based.add_create(Nameless(real.target, real.collection))
