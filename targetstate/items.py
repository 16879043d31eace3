"""Target items and the target state (targetstate spec §5.11, §6, §7, §8.1).

A ``TargetItem`` stores the identity, the subscription (after customer-deletion capping), the phase,
the item version and three truncated periods. Everything else — ``invoice_at``, the period
percentage, billability, proration, amounts and the expected line — is derived on demand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from subscriptions.models import RateCard, Subscription, SubscriptionItem
from subscriptions.prices import FlatPrice, PaymentTerm, Price, payment_term_of
from targetstate import proration
from targetstate.errors import DuplicateIdentityError
from targetstate.expected_line import ExpectedLine, expected_line
from targetstate.money import Currency, ratio
from targetstate.timemath import Period
from targetstate.trusted import trusted_builder, trusted_constructor

if TYPE_CHECKING:
    from targetstate.versions import Candidate


def identity(subscription_id: str, phase_key: str, item_key: str, version: int, period_index: int | None) -> str:
    """``{sub}/{phase}/{item}/v[{version}]/period[{index}]``; one-time items (``None``) omit the period."""
    base = f"{subscription_id}/{phase_key}/{item_key}/v[{version}]"
    return base if period_index is None else f"{base}/period[{period_index}]"


class TargetItem(BaseModel):
    """One element of the target state: what billing should hold for one period of one item version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unique_id: str
    subscription: Subscription
    phase_id: str
    phase_key: str
    item_key: str
    item_version: int = Field(ge=0)
    #: Index within the version; 0 for a one-time item.
    period_index: int = Field(ge=0)
    item: SubscriptionItem
    service_period: Period
    full_service_period: Period
    billing_period: Period
    currency: Currency
    subscription_end_proration_mode: str = ""

    @model_validator(mode="after")
    def _identity_matches(self) -> "TargetItem":
        expected = identity(
            self.subscription.id,
            self.phase_key,
            self.item_key,
            self.item_version,
            None if self.is_one_time else self.period_index,
        )
        if self.unique_id != expected:
            raise ValueError(f"target item identity {self.unique_id!r} does not match its fields ({expected!r})")
        return self

    # -- what the item is ------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return self.unique_id

    @property
    def rate_card(self) -> RateCard:
        return self.item.rate_card

    @property
    def price(self) -> Price | None:
        return self.item.rate_card.price

    @property
    def is_one_time(self) -> bool:
        return self.item.rate_card.billing_cadence is None

    @property
    def is_flat(self) -> bool:
        return isinstance(self.item.rate_card.price, FlatPrice)

    @property
    def payment_term(self) -> PaymentTerm:
        """The flat price's term; every usage price counts as in arrears."""
        return payment_term_of(self.item.rate_card.price)

    # -- derived values --------------------------------------------------------------------------

    @property
    def invoice_at(self) -> dt.datetime:
        """§6: in-advance flat fees at the billing-period start, everything else at
        ``max(service_period.end, billing_period.end)``."""
        price = self.item.rate_card.price
        if isinstance(price, FlatPrice) and price.payment_term == "in_advance":
            return self.billing_period.start
        return max(self.service_period.end, self.billing_period.end)

    @property
    def period_percentage(self) -> Decimal:
        """``ratio(service_period, full_service_period)``; 1 when the full service period is empty."""
        return ratio(self.service_period, self.full_service_period)

    @property
    def is_billable(self) -> bool:
        """§8.1: false without a price, false for in-arrears items with an empty full service period."""
        price = self.item.rate_card.price
        if price is None:
            return False
        if payment_term_of(price) == "in_arrears" and self.full_service_period.is_empty:
            return False
        return True

    @property
    def should_prorate(self) -> bool:
        """§8.3: the four conditions under which a flat fee is prorated on the invoice backend."""
        return proration.should_prorate(self)

    @property
    def invoice_flat_amount(self) -> Decimal | None:
        """§8.3: the per-unit amount of the flat fee on the invoice backend (0 means no line);
        None for usage prices."""
        return proration.invoice_flat_amount(self)

    @property
    def charge_amount_before_proration(self) -> Decimal | None:
        """§8.4: ``round_money(price.amount)`` of a flat fee; None for usage prices."""
        return proration.charge_amount_before_proration(self)

    @property
    def charge_flat_amount(self) -> Decimal | None:
        """§8.4: the amount a flat-fee charge computes for itself; None for usage prices."""
        return proration.charge_flat_amount(self)

    def expected_line(self) -> ExpectedLine | None:
        """§8.2: the gathering line of the invoice backend, or None when there is no line."""
        return expected_line(self)


class TargetState(BaseModel):
    """The target items of a subscription (a set keyed by identity) and the generation limit.

    Items come ordered by phase order, item key, version and period index for stable snapshots;
    consumers must not depend on that order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: tuple[TargetItem, ...] = ()
    #: The horizon of the result; the sync stores it as ``next_sync_after``. None: no resync is due.
    max_generation_time_limit: dt.datetime | None = None

    def by_identity(self) -> dict[str, TargetItem]:
        return {item.unique_id: item for item in self.items}

    @property
    def identities(self) -> tuple[str, ...]:
        return tuple(item.unique_id for item in self.items)


def wrap_candidates(
    candidates: Iterable["Candidate"],
    subscription: Subscription,
    currency: Currency,
    subscription_end_proration_mode: str,
) -> list[TargetItem]:
    """Truncated candidates → ``TargetItem``s; raises ``DuplicateIdentityError`` on a repeated identity.

    The candidates' values are valid by construction (validated view, ordered periods), so the
    items are built without re-validation (``targetstate.trusted``).
    """
    items: list[TargetItem] = []
    seen: set[str] = set()
    # Periods are frozen values: items of one build share equal periods (billing periods above all).
    periods: dict[tuple[dt.datetime, dt.datetime], Period] = {}
    unchecked = Period.unchecked
    sub_id = subscription.id

    def period(bounds: tuple[dt.datetime, dt.datetime]) -> Period:
        found = periods.get(bounds)
        if found is None:
            found = periods[bounds] = unchecked(bounds[0], bounds[1])
        return found

    for c in candidates:
        phase = c.cadence.phase
        if c.one_time:
            unique_id = f"{sub_id}/{phase.key}/{c.item_key}/v[{c.version}]"
        else:
            unique_id = f"{sub_id}/{phase.key}/{c.item_key}/v[{c.version}]/period[{c.period_index}]"
        if unique_id in seen:
            raise DuplicateIdentityError(
                "two target items share this identity",
                subscription_id=sub_id,
                customer_id=subscription.customer_id,
                phase_key=phase.key,
                item_key=c.item_key,
                version=c.version,
                identity=unique_id,
            )
        seen.add(unique_id)
        items.append(
            _build_item(
                {
                    "unique_id": unique_id,
                    "subscription": subscription,
                    "phase_id": phase.id,
                    "phase_key": phase.key,
                    "item_key": c.item_key,
                    "item_version": c.version,
                    "period_index": c.period_index,
                    "item": c.item,
                    "service_period": period(c.service),
                    "full_service_period": period(c.full_service),
                    "billing_period": period(c.billing),
                    "currency": currency,
                    "subscription_end_proration_mode": subscription_end_proration_mode,
                }
            )
        )
    return items


#: Target items of a build come from a validated view and computed, truncated, ordered periods.
_build_item = trusted_builder(TargetItem, check_fields=False)  # the dict literal above names every field

#: A target state of already-built items (``TargetState(items=…)`` would re-run every item's validator).
construct_state = trusted_constructor(TargetState)
