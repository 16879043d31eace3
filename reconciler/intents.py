"""New charge intents built from a target (reconciler.md §3.13, charges.md §7.2).

Sync creates subscription-managed intents; the charge prorates itself, so a flat fee carries the
rate-card amount *before* proration together with the subscription's proration config. Annotations,
metadata and the unit config are copies, never shared with the subscription item.
"""

from __future__ import annotations

import copy

from billing.charges.models import ChargeSubscriptionReference, ProRating
from patches.model import FlatFeeChargeIntent, UsageBasedChargeIntent
from reconciler.expected import (
    billing_discounts,
    billing_percentage_discounts,
    billing_period,
    billing_price,
    billing_tax_config,
)
from subscriptions.prices import FlatPrice
from targetstate.items import TargetItem


def _common(target: TargetItem, *, customer_id: str, settlement_mode: str) -> dict[str, object]:
    rate_card = target.item.rate_card
    subscription = target.subscription
    return {
        "managed_by": "subscription",
        "customer_id": customer_id,
        "annotations": copy.deepcopy(dict(target.item.annotations)),
        "metadata": copy.deepcopy(dict(target.item.metadata)),
        "currency": target.currency.code,
        "unique_reference_id": target.unique_id,
        "tax_config": billing_tax_config(rate_card.tax_config),
        "subscription": ChargeSubscriptionReference(
            subscription_id=subscription.id, phase_id=target.phase_id, item_id=target.item.id
        ),
        "name": rate_card.display_name,
        "description": rate_card.description,
        "service_period": billing_period(target.service_period),
        "full_service_period": billing_period(target.full_service_period),
        "billing_period": billing_period(target.billing_period),
        "invoice_at": target.invoice_at,
        "settlement_mode": settlement_mode,
    }


def flat_fee_intent(target: TargetItem, *, customer_id: str, settlement_mode: str) -> FlatFeeChargeIntent:
    price = target.item.rate_card.price
    assert isinstance(price, FlatPrice), "flat-fee intents are built from flat prices"
    config = target.subscription.pro_rating_config
    return FlatFeeChargeIntent(
        **_common(target, customer_id=customer_id, settlement_mode=settlement_mode),  # type: ignore[arg-type]
        payment_term=price.payment_term,
        amount_before_proration=target.charge_amount_before_proration,
        pro_rating=ProRating(enabled=config.enabled, mode=config.mode),
        percentage_discounts=billing_percentage_discounts(target.item.rate_card.discounts),
        feature_key=target.item.rate_card.feature_key,
    )


def usage_based_intent(target: TargetItem, *, customer_id: str, settlement_mode: str) -> UsageBasedChargeIntent:
    rate_card = target.item.rate_card
    assert rate_card.price is not None and not isinstance(rate_card.price, FlatPrice)
    unit_config = None if rate_card.unit_config is None else copy.deepcopy(dict(rate_card.unit_config))
    return UsageBasedChargeIntent(
        **_common(target, customer_id=customer_id, settlement_mode=settlement_mode),  # type: ignore[arg-type]
        price=billing_price(rate_card.price),
        discounts=billing_discounts(rate_card.discounts),
        unit_config=unit_config,
        feature_key=rate_card.feature_key or "",
    )
