"""The gathering line a target item expects on the invoice backend (targetstate spec §8.2).

An ``ExpectedLine`` is a ``targetstate`` value; turning it into billing's line model is the
reconciler's job. It carries no full service period (only charge intents do), no annotations and no
metadata.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict

from subscriptions.models import Discounts, TaxConfig
from subscriptions.prices import FlatPrice, Price
from targetstate.errors import InvalidCurrencyError
from targetstate.money import is_fiat
from targetstate.proration import invoice_flat_amount
from targetstate.timemath import Period

if TYPE_CHECKING:
    from targetstate.items import TargetItem


class SubscriptionReference(BaseModel):
    """Where a line comes from: subscription, phase, item entity and the aligned billing period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: str
    phase_id: str
    item_id: str
    billing_period: Period


class ExpectedLine(BaseModel):
    """The line the invoice backend should hold for one target item."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str | None = None
    managed_by: Literal["subscription"] = "subscription"
    namespace: str
    currency: str
    child_unique_reference_id: str
    tax_config: TaxConfig | None = None
    service_period: Period
    invoice_at: dt.datetime
    rate_card_discounts: Discounts | None = None
    subscription_reference: SubscriptionReference
    feature_key: str | None = None
    #: Flat fees: the per-unit amount (§8.3) with the original term. Usage: the rate-card price unchanged.
    price: Price
    #: A copy of the rate card's ``unit_config`` (usage prices only).
    unit_config: Mapping[str, Any] | None = None


def expected_line(item: "TargetItem") -> ExpectedLine | None:
    """The expected line of ``item``, or None when it gets no line: an in-arrears item whose full
    service period is empty, or a flat fee whose per-unit amount is 0. Raises
    ``InvalidCurrencyError`` when the currency is not fiat."""
    if not is_fiat(item.currency.code):
        raise InvalidCurrencyError(
            f"currency {item.currency.code!r} is not a fiat ISO 4217 currency",
            subscription_id=item.subscription.id,
            customer_id=item.subscription.customer_id,
            identity=item.unique_id,
        )
    rate_card = item.item.rate_card
    price = rate_card.price
    if price is None:
        return None
    if item.payment_term == "in_arrears" and item.full_service_period.is_empty:
        return None
    unit_config: Mapping[str, Any] | None = None
    if isinstance(price, FlatPrice):
        per_unit = invoice_flat_amount(item)
        if per_unit is None or per_unit == 0:
            return None
        line_price: Price = price.model_copy(update={"amount": per_unit})
    else:
        line_price = price
        if rate_card.unit_config is not None:
            unit_config = copy.deepcopy(dict(rate_card.unit_config))
    sub = item.subscription
    return ExpectedLine(
        name=rate_card.display_name,
        description=rate_card.description,
        namespace=sub.namespace,
        currency=item.currency.code,
        child_unique_reference_id=item.unique_id,
        tax_config=rate_card.tax_config,
        service_period=item.service_period,
        invoice_at=item.invoice_at,
        rate_card_discounts=rate_card.discounts,
        subscription_reference=SubscriptionReference(
            subscription_id=sub.id,
            phase_id=item.phase_id,
            item_id=item.item.id,
            billing_period=item.billing_period,
        ),
        feature_key=rate_card.feature_key,
        price=line_price,
        unit_config=unit_config,
    )
