"""Test helpers: instants, prices, rate cards and subscription views built directly from the models.

``make_view`` derives phase cadences and persisted item ranges the way ``subscriptions`` does
(``subscriptions.timeline``), so tests describe subscriptions as plans: phases with ``start_after``
and item versions with overrides relative to the phase start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Sequence

from subscriptions.duration import Duration
from subscriptions.models import Phase, ProRatingConfig, RateCard, Subscription, SubscriptionItem, SubscriptionView
from subscriptions.prices import FlatPrice, Price, UnitPrice
from subscriptions.timeline import item_active_range, phase_cadences

UTC = dt.timezone.utc


def ts(text: str) -> dt.datetime:
    """``2021-01-02``, ``2021-01-02T20:00``, ``2021-01-02T20:00:00.1234Z`` → aware UTC instant."""
    text = text.strip().replace("Z", "+00:00")
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dur(text: str) -> Duration:
    return Duration.parse(text)


def flat(amount: str | int = 1, term: str = "in_advance") -> FlatPrice:
    return FlatPrice(amount=Decimal(str(amount)), payment_term=term)  # type: ignore[arg-type]


def unit(amount: str | int = 1) -> UnitPrice:
    return UnitPrice(amount=Decimal(str(amount)))


def rate_card(
    key: str,
    price: Price | None,
    cadence: str | Duration | None,
    *,
    type: str | None = None,
    **extra: Any,
) -> RateCard:
    """A rate card; ``type`` defaults to usage_based for usage prices, flat_fee otherwise."""
    if type is None:
        type = "flat_fee" if price is None or isinstance(price, FlatPrice) else "usage_based"
    cadence_value = dur(cadence) if isinstance(cadence, str) else cadence
    return RateCard(key=key, type=type, price=price, billing_cadence=cadence_value, **extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VersionSpec:
    """One item version: its rate card and its overrides relative to the phase start."""

    rate_card: RateCard
    start_after: Duration | None = None
    end_after: Duration | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PhaseSpec:
    key: str
    start_after: Duration = field(default_factory=Duration)
    #: item key → its versions in order
    items: Mapping[str, Sequence[VersionSpec]] = field(default_factory=dict)
    sort_hint: int | None = None


def version(card: RateCard, start_after: str | Duration | None = None, end_after: str | Duration | None = None) -> VersionSpec:
    return VersionSpec(
        card,
        dur(start_after) if isinstance(start_after, str) else start_after,
        dur(end_after) if isinstance(end_after, str) else end_after,
    )


def phase(key: str, start_after: str | Duration = "PT0S", *cards: RateCard | Sequence[VersionSpec], sort_hint: int | None = None) -> PhaseSpec:
    """A phase whose items are given as rate cards (one open version each) or lists of versions."""
    items: dict[str, Sequence[VersionSpec]] = {}
    for entry in cards:
        if isinstance(entry, RateCard):
            items[entry.key] = [VersionSpec(entry)]
        else:
            items[entry[0].rate_card.key] = list(entry)
    return PhaseSpec(key, dur(start_after) if isinstance(start_after, str) else start_after, items, sort_hint)


def make_subscription(
    *,
    start: dt.datetime,
    billing_cadence: str | Duration = "P1M",
    anchor: dt.datetime | None = None,
    active_to: dt.datetime | None = None,
    sub_id: str = "sub-1",
    customer_id: str = "cust-1",
    currency: str = "USD",
    pro_rating: bool = True,
) -> Subscription:
    return Subscription(
        id=sub_id,
        customer_id=customer_id,
        active_from=start,
        active_to=active_to,
        billing_cadence=dur(billing_cadence) if isinstance(billing_cadence, str) else billing_cadence,
        billing_anchor=anchor or start,
        pro_rating_config=ProRatingConfig(enabled=pro_rating),
        invoice_currency=currency,
    )


def make_view(subscription: Subscription, phases: Sequence[PhaseSpec]) -> SubscriptionView:
    """A view whose phase starts and item ranges follow ``subscriptions.timeline`` (§3.3, §3.4)."""
    bare = [
        Phase(
            id=f"phase-id-{p.key}",
            key=p.key,
            active_from=p.start_after.add_to(subscription.active_from),
            start_after=p.start_after,
            sort_hint=p.sort_hint,
        )
        for p in phases
    ]
    cadences = {c.phase.key: c for c in phase_cadences(subscription, bare)}
    built: list[Phase] = []
    for spec, phase_model in zip(phases, bare):
        cadence = cadences[spec.key]
        items_by_key: dict[str, tuple[SubscriptionItem, ...]] = {}
        for key, versions in spec.items.items():
            items = []
            for index, v in enumerate(versions):
                start, end = item_active_range(cadence.start, cadence.end, v.start_after, v.end_after)
                items.append(
                    SubscriptionItem(
                        id=f"item-{spec.key}-{key}-{index}",
                        key=key,
                        active_from=start,
                        active_to=end,
                        active_from_override=v.start_after,
                        active_to_override=v.end_after,
                        rate_card=v.rate_card,
                        annotations=v.annotations,
                    )
                )
            items_by_key[key] = tuple(items)
        built.append(phase_model.model_copy(update={"items_by_key": items_by_key}))
    return SubscriptionView(subscription=subscription, phases=tuple(built))


@dataclass(frozen=True)
class Record:
    """A persisted record for ``PersistedLookup`` tests."""

    service_period_end: dt.datetime
    managed_by_subscription: bool = True
    annotations: Mapping[str, object] = field(default_factory=dict)


class FakeLookup:
    """A ``PersistedLookup`` over a dict of identity → record that remembers what was asked."""

    def __init__(self, records: Mapping[str, Record] | None = None) -> None:
        self.records = dict(records or {})
        self.asked: list[str] = []

    def get(self, identity: str) -> Record | None:
        self.asked.append(identity)
        return self.records.get(identity)


def make_target_item(
    price: Price | None,
    service: tuple[str, str],
    full: tuple[str, str] | None = None,
    billing: tuple[str, str] | None = None,
    *,
    cadence: str | None = "P1M",
    active_to: str | None = None,
    mode: str = "",
    pro_rating: bool = True,
    currency: str = "USD",
    **card_extra: Any,
):
    """A ``TargetItem`` built directly (no builder), for the tables of §8 and §10.2."""
    from targetstate import Period, fiat_currency, identity

    service_period = Period(start=ts(service[0]), end=ts(service[1]))
    full_period = Period(start=ts(full[0]), end=ts(full[1])) if full else service_period
    billing_period = Period(start=ts(billing[0]), end=ts(billing[1])) if billing else full_period
    sub = make_subscription(
        start=full_period.start,
        active_to=ts(active_to) if active_to else None,
        pro_rating=pro_rating,
        currency=currency,
    )
    card = rate_card("fee", price, cadence, **card_extra)
    item = SubscriptionItem(id="item-1", key="fee", active_from=service_period.start, rate_card=card)
    from targetstate import TargetItem

    return TargetItem(
        unique_id=identity(sub.id, "default", "fee", 0, None if cadence is None else 0),
        subscription=sub,
        phase_id="phase-1",
        phase_key="default",
        item_key="fee",
        item_version=0,
        period_index=0,
        item=item,
        service_period=service_period,
        full_service_period=full_period,
        billing_period=billing_period,
        currency=fiat_currency(currency),
        subscription_end_proration_mode=mode,
    )
