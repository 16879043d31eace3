"""Flat-fee proration and amounts (targetstate spec §8.3, §8.4).

Only flat prices have an amount here; usage prices are never prorated (only their period shrinks),
so every function returns None for them.

- Invoice backend (§8.3): the per-unit amount is ``round_money(amount)``, prorated by
  ``ratio(service, full service)`` when the service period is non-empty and ``should_prorate`` holds.
  The end-proration mode ``bill_full_period`` bills in full every period whose service end reaches
  the subscription end (Q6).
- Charge backend (§8.4): the charge prorates by itself when proration is enabled with
  ``prorate_prices``, both periods are non-empty and the service period is the shorter one. The
  end-proration mode is not applied on this path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from subscriptions.prices import FlatPrice
from targetstate.money import prorate, ratio, round_money
from targetstate.timemath import duration_seconds

if TYPE_CHECKING:
    from targetstate.items import TargetItem

BILL_FULL_PERIOD = "bill_full_period"
BILL_ACTUAL_PERIOD = "bill_actual_period"
#: End-proration modes the builder knows; every other value behaves like ``bill_actual_period`` (§3.6).
KNOWN_END_PRORATION_MODES = frozenset({BILL_FULL_PERIOD, BILL_ACTUAL_PERIOD, ""})
PRORATE_PRICES = "prorate_prices"


def should_prorate(item: "TargetItem") -> bool:
    """All four conditions of §8.3."""
    config = item.subscription.pro_rating_config
    if not config.enabled:
        return False
    if not isinstance(item.item.rate_card.price, FlatPrice):
        return False
    active_to = item.subscription.active_to
    if (
        item.subscription_end_proration_mode == BILL_FULL_PERIOD
        and active_to is not None
        and active_to <= item.service_period.end
    ):
        return False
    return config.mode == PRORATE_PRICES


def invoice_flat_amount(item: "TargetItem") -> Decimal | None:
    """§8.3: the per-unit amount of a flat fee on the invoice backend (0 means no line)."""
    price = item.item.rate_card.price
    if not isinstance(price, FlatPrice):
        return None
    if duration_seconds(item.service_period) > 0 and should_prorate(item):
        return prorate(price.amount, ratio(item.service_period, item.full_service_period), item.currency)
    return round_money(price.amount, item.currency)


def charge_amount_before_proration(item: "TargetItem") -> Decimal | None:
    """§8.4: ``round_money(price.amount)`` of a flat fee."""
    price = item.item.rate_card.price
    if not isinstance(price, FlatPrice):
        return None
    return round_money(price.amount, item.currency)


def charge_flat_amount(item: "TargetItem") -> Decimal | None:
    """§8.4: the amount a flat-fee charge computes from its intent."""
    price = item.item.rate_card.price
    if not isinstance(price, FlatPrice):
        return None
    config = item.subscription.pro_rating_config
    service = duration_seconds(item.service_period)
    full = duration_seconds(item.full_service_period)
    if config.enabled and config.mode == PRORATE_PRICES and service > 0 and full > 0 and service < full:
        return prorate(price.amount, ratio(item.service_period, item.full_service_period), item.currency)
    return round_money(price.amount, item.currency)
