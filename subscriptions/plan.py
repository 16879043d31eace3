"""The plan of a scenario / setup file: phases in order, each with its rate cards (scenario-format §1).

These models validate the file form (``feature``, ``tax``, phase ``duration``); ``subscriptions.setup``
turns a validated plan into a ``SubscriptionView``. Rate cards are the core ``RateCard`` model, so every
rate-card rule lives in one place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from subscriptions.currency import is_fiat_currency
from subscriptions.display import show
from subscriptions.duration import Duration
from subscriptions.models import ProRatingConfig, RateCard, SettlementMode
from subscriptions.types import Description, Key, Name

#: File names of rate-card fields → model names.
RATE_CARD_FILE_FIELDS = {"feature": "feature_key", "tax": "tax_config"}


def rate_card_from_file(value: Any) -> Any:
    """Rename the file's rate-card fields (``feature``, ``tax``) to the model's; other input passes through."""
    if not isinstance(value, dict):
        return value
    renamed = dict(value)
    for file_name, model_name in RATE_CARD_FILE_FIELDS.items():
        if file_name in renamed:
            if model_name in renamed:
                raise ValueError(f"give either {file_name} or {model_name}, not both")
            renamed[model_name] = renamed.pop(file_name)
    return renamed


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanPhase(_Frozen):
    key: Key
    name: Name | None = None
    description: Description | None = None
    #: None on the last, open-ended phase.
    duration: Duration | None = None
    rate_cards: tuple[RateCard, ...] = ()

    @field_validator("rate_cards", mode="before")
    @classmethod
    def _file_names(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, list):
            return [rate_card_from_file(card) for card in value]
        return value

    @model_validator(mode="after")
    def _check(self) -> "PlanPhase":
        if self.duration is not None and not self.duration.is_positive:
            raise ValueError(f"duration must be positive, got {self.duration}")
        seen: set[str] = set()
        for card in self.rate_cards:
            if card.key in seen:
                raise ValueError(f"duplicate rate card key {card.key!r}")
            seen.add(card.key)
        return self


class Plan(_Frozen):
    key: Key = "test-plan"
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    name: Name | None = None
    description: Description | None = None
    #: The subscription's invoice currency: a fiat ISO 4217 code.
    currency: str = "USD"
    billing_cadence: Duration = Field(default_factory=lambda: Duration(months=1))
    pro_rating: ProRatingConfig = Field(default_factory=ProRatingConfig)
    settlement_mode: SettlementMode = "credit_then_invoice"
    phases: tuple[PlanPhase, ...] = Field(min_length=1)

    @field_validator("currency")
    @classmethod
    def _fiat(cls, value: str) -> str:
        if not is_fiat_currency(value):
            raise ValueError(
                f"must be a fiat ISO 4217 code such as USD, got {show(value)} "
                "(a custom currency goes on a rate card's price, declared under currencies)"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> "Plan":
        if not self.billing_cadence.is_positive:
            raise ValueError(f"billing_cadence must be positive, got {self.billing_cadence}")
        seen: set[str] = set()
        last = len(self.phases) - 1
        for index, phase in enumerate(self.phases):
            if phase.key in seen:
                raise ValueError(f"duplicate phase key {phase.key!r}")
            seen.add(phase.key)
            if index < last and phase.duration is None:
                raise ValueError(f"phase {phase.key!r} needs a duration: only the last phase is open-ended")
            if index == last and phase.duration is not None:
                raise ValueError(
                    f"phase {phase.key!r} is the last phase and runs open-ended: omit its duration "
                    "(subscription.end ends a subscription)"
                )
            for card in phase.rate_cards:
                cadence = card.billing_cadence
                if cadence is not None and not cadence.aligned_with(self.billing_cadence):
                    raise ValueError(
                        f"phase {phase.key!r}, rate card {card.key!r}: billing_cadence {cadence} is not aligned "
                        f"with the plan's billing_cadence {self.billing_cadence} (equal, or one a multiple of the other)"
                    )
        try:
            self.phase_offsets()
        except ValueError:
            raise ValueError("the phase durations add up to more than 10 000 years") from None
        return self

    def phase_offsets(self) -> list[Duration]:
        """Each phase's start relative to the subscription start: the sum of the durations before it."""
        offsets: list[Duration] = []
        total = Duration()
        for phase in self.phases:
            offsets.append(total)
            if phase.duration is not None:
                total = total + phase.duration
        return offsets
