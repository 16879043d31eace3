"""The subscription view the target-state builder consumes.

A view is one subscription with its phases; each phase maps item keys to the time-ordered versions
of that item. Versions carry their *persisted* active range, computed by ``subscriptions.timeline``
when the item is written (targetstate spec §3.4); the builder only reads it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Mapping

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from subscriptions.display import show
from subscriptions.duration import Duration
from subscriptions.prices import FlatPrice, Price
from subscriptions.types import Amount, Description, Key, Name, UtcDatetime, check_text

SettlementMode = Literal["credit_then_invoice", "credit_only"]
MIN_CADENCE_SECONDS = Decimal(3600)
#: A tax code such as ``txcd_10000000``.
TaxCode = Annotated[str, StringConstraints(max_length=64), AfterValidator(check_text)]
#: ``unit_config`` is copied onto lines and charges as JSON: it is kept small and plainly typed.
UNIT_CONFIG_MAX_DEPTH = 4
UNIT_CONFIG_MAX_VALUES = 64
MAX_UNIT_CONFIG_TEXT = 256


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaxConfig(_Frozen):
    behavior: Literal["exclusive", "inclusive", "none"] | None = None
    code: TaxCode | None = None


class Discounts(_Frozen):
    """Rate-card discounts, copied unchanged onto lines and charges."""

    percentage: Amount | None = None
    usage: Amount | None = None

    @field_validator("percentage")
    @classmethod
    def _at_most_100(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value > 100:
            raise ValueError(f"percentage discount must be between 0 and 100, got {value}")
        return value


class ProRatingConfig(_Frozen):
    enabled: bool = True
    mode: Literal["prorate_prices"] = "prorate_prices"


class RateCard(_Frozen):
    key: Key
    type: Literal["flat_fee", "usage_based"]
    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    #: None makes the item one-time (flat_fee rate cards only).
    billing_cadence: Duration | None = None
    #: The metered feature: a meter key.
    feature_key: Key | None = None
    tax_config: TaxConfig | None = None
    discounts: Discounts | None = None
    unit_config: Mapping[str, Any] | None = None

    @field_validator("unit_config")
    @classmethod
    def _plain_json(cls, value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if value is not None:
            _check_unit_config(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> "RateCard":
        if self.type == "usage_based" and self.billing_cadence is None:
            raise ValueError("a usage_based rate card needs a billing_cadence")
        if self.billing_cadence is not None:
            if not self.billing_cadence.is_positive:
                raise ValueError(f"billing_cadence must be positive, got {self.billing_cadence}")
            if self.billing_cadence.total_months == 0 and self.billing_cadence.fixed_seconds < MIN_CADENCE_SECONDS:
                raise ValueError(f"billing_cadence must be at least PT1H, got {self.billing_cadence}")
        if self.price is not None and not isinstance(self.price, FlatPrice) and self.billing_cadence is None:
            raise ValueError("a usage price needs a billing_cadence")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.key


class SubscriptionItem(_Frozen):
    """One version of an item key within a phase."""

    id: str
    key: Key
    #: Persisted active range (half-open; None = open-ended).
    active_from: UtcDatetime
    active_to: UtcDatetime | None = None
    #: Spec overrides, relative to the phase start.
    active_from_override: Duration | None = None
    active_to_override: Duration | None = None
    rate_card: RateCard
    annotations: Mapping[str, Any] = Field(default_factory=dict)
    metadata: Mapping[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _range(self) -> "SubscriptionItem":
        for name in ("active_from_override", "active_to_override"):
            override = getattr(self, name)
            if override is not None and not (override.is_zero or override.is_positive):
                raise ValueError(f"item {self.key!r}: {name} is relative to the phase start and must not be negative, got {override}")
        if self.active_to is not None and self.active_to < self.active_from:
            raise ValueError(
                f"item {self.key!r} ends before it starts ({self.active_to.isoformat()} < {self.active_from.isoformat()})"
            )
        if self.rate_card.key != self.key:
            raise ValueError(f"item key {self.key!r} differs from its rate card key {self.rate_card.key!r}")
        return self


class Phase(_Frozen):
    id: str
    key: Key
    #: The persisted phase start.
    active_from: UtcDatetime
    #: Start relative to the subscription start.
    start_after: Duration = Field(default_factory=Duration)
    sort_hint: int | None = None
    #: Item key → that key's versions, ordered by intended start.
    items_by_key: Mapping[str, tuple[SubscriptionItem, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _versions(self) -> "Phase":
        if not (self.start_after.is_zero or self.start_after.is_positive):
            raise ValueError(f"phase {self.key!r}: start_after must not be negative, got {self.start_after}")
        for key, versions in self.items_by_key.items():
            for version in versions:
                if version.key != key:
                    raise ValueError(f"phase {self.key!r}: item {version.key!r} listed under key {key!r}")
            for earlier, later in zip(versions, versions[1:]):
                if earlier.active_to is None or earlier.active_to > later.active_from:
                    raise ValueError(
                        f"phase {self.key!r}: versions of item {key!r} overlap "
                        f"({earlier.id!r} runs past the start of {later.id!r})"
                    )
        return self

    @property
    def has_priced_version(self) -> bool:
        return any(v.rate_card.price is not None for vs in self.items_by_key.values() for v in vs)


class Subscription(_Frozen):
    id: Key
    namespace: str = "default"
    customer_id: Key
    name: Name | None = None
    plan_key: str | None = None
    active_from: UtcDatetime
    active_to: UtcDatetime | None = None
    billing_cadence: Duration
    billing_anchor: UtcDatetime
    pro_rating_config: ProRatingConfig = Field(default_factory=ProRatingConfig)
    settlement_mode: SettlementMode = "credit_then_invoice"
    invoice_currency: str
    deleted_at: UtcDatetime | None = None

    @model_validator(mode="after")
    def _check(self) -> "Subscription":
        if not self.billing_cadence.is_positive:
            raise ValueError(f"billing_cadence must be positive, got {self.billing_cadence}")
        if self.active_to is not None and self.active_to < self.active_from:
            raise ValueError(
                f"subscription {self.id!r} ends before it starts "
                f"({self.active_to.isoformat()} < {self.active_from.isoformat()})"
            )
        return self


def _check_unit_config(value: Any) -> None:
    """A JSON object of strings, integers, booleans and nulls, at most 4 levels deep and 64 values big.

    Errors name the offending entry (``rounding.mode: …``); the walk is iterative, so a value
    nested thousands of levels deep is refused, not a ``RecursionError``.
    """
    count = 0
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, where, depth = stack.pop()
        at = f"{where}: " if where else ""
        count += 1
        if count > UNIT_CONFIG_MAX_VALUES:
            raise ValueError(f"unit_config holds more than {UNIT_CONFIG_MAX_VALUES} values")
        if isinstance(node, (Mapping, list, tuple)):
            if depth > UNIT_CONFIG_MAX_DEPTH:
                raise ValueError(f"{at}nested more than {UNIT_CONFIG_MAX_DEPTH} levels deep")
            if isinstance(node, Mapping):
                for key in node:
                    if not isinstance(key, str) or len(key) > 64 or not key.isprintable():
                        raise ValueError(f"{at}keys are printable strings of at most 64 characters, got {show(key)}")
                    check_text(key)
                stack.extend((child, f"{where}.{key}" if where else key, depth + 1) for key, child in node.items())
            else:
                stack.extend((child, f"{where}[{index}]", depth + 1) for index, child in enumerate(node))
        elif isinstance(node, str):
            if len(node) > MAX_UNIT_CONFIG_TEXT:
                raise ValueError(f"{at}strings have at most {MAX_UNIT_CONFIG_TEXT} characters, got {show(node)}")
            try:
                check_text(node)
            except ValueError as exc:
                raise ValueError(f"{at}{exc}") from None
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, int):
            if abs(node) >= 2**63:
                raise ValueError(f"{at}integers must fit in 64 bits, got {show(node)}")
        else:
            raise ValueError(
                f"{at}values are strings, integers, booleans or null (decimals as strings), "
                f"got a {type(node).__name__}"
            )


def sort_hint_key(phase: Phase) -> float:
    """How a phase's sort hint orders phases that start together: a missing hint sorts after any hint."""
    return float("inf") if phase.sort_hint is None else float(phase.sort_hint)


class SubscriptionView(_Frozen):
    """A subscription and its phases: the builder's input."""

    subscription: Subscription
    phases: tuple[Phase, ...]

    @model_validator(mode="after")
    def _check(self) -> "SubscriptionView":
        sub = self.subscription
        seen: set[str] = set()
        for phase in self.phases:
            if phase.key in seen:
                raise ValueError(f"subscription {sub.id!r}: duplicate phase key {phase.key!r}")
            seen.add(phase.key)
            for versions in phase.items_by_key.values():
                for item in versions:
                    cadence = item.rate_card.billing_cadence
                    if cadence is not None and not cadence.aligned_with(sub.billing_cadence):
                        raise ValueError(
                            f"subscription {sub.id!r}, phase {phase.key!r}, item {item.key!r}: billing cadence "
                            f"{cadence} is not aligned with the subscription cadence {sub.billing_cadence}"
                        )
        return self

    def phases_in_order(self) -> list[Phase]:
        """Phases by persisted start, then sort hint, then key (the builder re-sorts by computed start)."""
        return sorted(self.phases, key=lambda p: (p.active_from, sort_hint_key(p), p.key))
