"""The expected line as billing stores it (reconciler.md §3.1, §3.9; targetstate.md §8.2).

``targetstate`` describes the expected gathering line with the subscription vocabulary; billing has
its own copy of prices, discounts and tax configuration (billing imports nothing of ours). This
module copies each value field by field into billing's models and passes the result through the
normaliser billing applies to every line it stores, so that comparing it with a stored line compares
what billing would hold.
"""

from __future__ import annotations

from billing import prices as bp
from billing.lines import NewLine, SubscriptionReference
from billing.operations.normalize import normalize_line
from billing.period import Period
from subscriptions import models as sm
from subscriptions import prices as sp
from targetstate.expected_line import ExpectedLine


def billing_period(period: object) -> Period:
    """A period of any of our packages (``start``/``end`` attributes) as billing's ``Period``."""
    return Period(start=period.start, end=period.end)  # type: ignore[attr-defined]


def billing_price(price: sp.FlatPrice | sp.UnitPrice | sp.TieredPrice | sp.PackagePrice) -> bp.Price:
    """A rate-card price copied into billing's price model, field by field."""
    if isinstance(price, sp.FlatPrice):
        return bp.FlatPrice(amount=price.amount, payment_term=price.payment_term, currency=price.currency)
    if isinstance(price, sp.UnitPrice):
        return bp.UnitPrice(
            amount=price.amount,
            currency=price.currency,
            minimum_amount=price.minimum_amount,
            maximum_amount=price.maximum_amount,
        )
    if isinstance(price, sp.TieredPrice):
        return bp.TieredPrice(
            mode=price.mode,
            tiers=tuple(
                bp.Tier(up_to=tier.up_to, unit_price=tier.unit_price, flat_price=tier.flat_price)
                for tier in price.tiers
            ),
            currency=price.currency,
            minimum_amount=price.minimum_amount,
            maximum_amount=price.maximum_amount,
        )
    if isinstance(price, sp.PackagePrice):
        return bp.PackagePrice(
            amount=price.amount,
            quantity_per_package=price.quantity_per_package,
            currency=price.currency,
            minimum_amount=price.minimum_amount,
            maximum_amount=price.maximum_amount,
        )
    raise TypeError(f"unknown price type {type(price).__name__}")


def billing_discounts(discounts: sm.Discounts | None) -> bp.Discounts | None:
    if discounts is None:
        return None
    return bp.Discounts(percentage=discounts.percentage, usage=discounts.usage)


def billing_percentage_discounts(discounts: sm.Discounts | None) -> bp.Discounts | None:
    """The percentage part of the rate-card discounts (flat-fee charge intents, §3.13)."""
    if discounts is None or discounts.percentage is None:
        return None
    return bp.Discounts(percentage=discounts.percentage)


def billing_tax_config(tax: sm.TaxConfig | None) -> bp.TaxConfig | None:
    if tax is None:
        return None
    return bp.TaxConfig(behavior=tax.behavior, code=tax.code)


def to_new_line(expected: ExpectedLine) -> NewLine:
    """The gathering line the invoice backend creates for ``expected``, normalised as billing stores
    it. Flat fees carry their per-unit amount both in the price and in ``per_unit_amount``.

    billing's line model has no ``unit_config`` yet, so the rate card's unit config (which
    ``expected`` carries) is not copied onto lines; see docs/planner.md."""
    price = billing_price(expected.price)
    reference = expected.subscription_reference
    line = NewLine(
        name=expected.name,
        description=expected.description,
        managed_by="subscription",
        service_period=billing_period(expected.service_period),
        invoice_at=expected.invoice_at,
        price=price,
        per_unit_amount=price.amount if isinstance(price, bp.FlatPrice) else None,
        feature_key=expected.feature_key,
        rate_card_discounts=billing_discounts(expected.rate_card_discounts),
        tax_config=billing_tax_config(expected.tax_config),
        child_unique_reference_id=expected.child_unique_reference_id,
        subscription=SubscriptionReference(
            subscription_id=reference.subscription_id,
            phase_id=reference.phase_id,
            item_id=reference.item_id,
            billing_period=billing_period(reference.billing_period),
        ),
    )
    return normalize_line(line)
