"""The arguments steps share (scenario-format §2): invoice references, line contents and edits, usage
events, settings changes, and the shape of ``edit_subscription`` ops (rate cards validated up front)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from billing.period import Period
from billing.prices import Discounts, Price, TaxConfig
from billing.types import Amount
from subscriptions.duration import Duration
from subscriptions.models import RateCard
from subscriptions.plan import rate_card_from_file
from subscriptions.types import Key, UtcDatetime

_STANDARD_REF = re.compile(r"^standard\[(\d+)\]$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- invoice references ---------------------------------------------------------------------------


class InvoiceRef(_Frozen):
    """``gathering``, ``latest``, ``standard[N]`` or ``{containing: <identity>}``."""

    kind: Literal["gathering", "latest", "standard", "containing"]
    index: int | None = None
    identity: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value in ("gathering", "latest"):
                return {"kind": value}
            match = _STANDARD_REF.match(value)
            if match:
                return {"kind": "standard", "index": int(match.group(1))}
            raise ValueError(f"an invoice reference is gathering, latest, standard[N] or {{containing: <identity>}}, got {value!r}")
        if isinstance(value, dict) and "kind" not in value:
            if set(value) != {"containing"} or not isinstance(value["containing"], str) or not value["containing"]:
                raise ValueError(f"an invoice reference mapping is {{containing: <identity>}}, got {value!r}")
            return {"kind": "containing", "identity": value["containing"]}
        return value

    def __str__(self) -> str:
        if self.kind == "standard":
            return f"standard[{self.index}]"
        if self.kind == "containing":
            return f"{{containing: {self.identity}}}"
        return self.kind


# -- line content -----------------------------------------------------------------------------------


def _period(value: Any) -> Any:
    """``[start, end]`` in the file → ``{start, end}``."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"a period is [start, end], got {len(value)} values")
        return {"start": value[0], "end": value[1]}
    return value


class LineSpec(_Frozen):
    """``create_line.line``: a manual line (no identity)."""

    kind: Literal["flat_fee", "usage_based"] | None = None
    name: str = Field(min_length=1)
    description: str | None = None
    service_period: Period
    invoice_at: UtcDatetime | None = None
    price: Price
    quantity: Amount | None = None
    per_unit_amount: Amount | None = None
    feature: str | None = None
    tax: TaxConfig | None = None
    discounts: Discounts | None = None
    annotations: dict[str, Any] = Field(default_factory=dict)

    @field_validator("service_period", mode="before")
    @classmethod
    def _service_period(cls, value: Any) -> Any:
        return _period(value)

    @model_validator(mode="after")
    def _kind_matches_price(self) -> "LineSpec":
        actual = "flat_fee" if self.price.type == "flat" else "usage_based"
        if self.kind is not None and self.kind != actual:
            raise ValueError(f"kind {self.kind} does not fit a {self.price.type} price (a flat price makes a flat_fee line)")
        if self.per_unit_amount is not None and self.price.type != "flat":
            raise ValueError("per_unit_amount is for flat fees only")
        return self


class LineSet(_Frozen):
    """``edit_line.set``: the fields to change; unset fields stay as they are."""

    per_unit_amount: Amount | None = None
    quantity: Amount | None = None
    price: Price | None = None
    discounts: Discounts | None = None
    tax: TaxConfig | None = None
    service_period: Period | None = None
    invoice_at: UtcDatetime | None = None
    name: str | None = None
    annotations: dict[str, Any] | None = None

    @field_validator("service_period", mode="before")
    @classmethod
    def _service_period(cls, value: Any) -> Any:
        return _period(value)

    @model_validator(mode="after")
    def _not_empty(self) -> "LineSet":
        if not self.model_fields_set:
            raise ValueError("names no field to change")
        return self


class UsageEventSpec(_Frozen):
    time: UtcDatetime
    value: Decimal = Decimal(1)
    meter: Key | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("usage values are decimal strings or integers, not floats")
        return value


class SettingsPatch(_Frozen):
    credits: bool | None = None
    credit_then_invoice: bool | None = None


# -- edit_subscription ops --------------------------------------------------------------------------

_EDIT_OPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "remove_item": (("phase", "item"), ()),
    "add_item": (("phase", "rate_card"), ()),
    "add_phase": (("key", "start_after"), ("rate_cards",)),
}


def check_edit_op(index: int, op: Any) -> None:
    """The shape of one edit op, and its rate cards and duration; the edit itself runs later."""
    where = f"ops[{index}]"
    if not isinstance(op, dict) or len(op) != 1:
        raise ValueError(f"{where}: must be one of {{remove_item: …}}, {{add_item: …}}, {{add_phase: …}}")
    (name, args), = op.items()
    if name not in _EDIT_OPS:
        raise ValueError(f"{where}: unknown edit {name!r} (expected one of {', '.join(_EDIT_OPS)})")
    if not isinstance(args, dict):
        raise ValueError(f"{where}.{name}: must be a mapping")
    required, optional = _EDIT_OPS[name]
    missing = [a for a in required if a not in args]
    unknown = [str(a)[:40] for a in args if a not in required + optional]  # keys may be ints or 10 MB
    if missing:
        raise ValueError(f"{where}.{name}: missing {', '.join(missing)}")
    if unknown:
        raise ValueError(f"{where}.{name}: unknown field {', '.join(unknown)}")
    cards = [args["rate_card"]] if name == "add_item" else args.get("rate_cards") or []
    cards = cards if isinstance(cards, list) else [cards]  # not a list: reported as rate_cards[0]
    for position, card in enumerate(cards):
        field = "rate_card" if name == "add_item" else f"rate_cards[{position}]"
        try:
            RateCard.model_validate(rate_card_from_file(card))
        except ValueError as exc:
            raise ValueError(f"{where}.{name}.{field}: {_first_reason(exc)}") from None
    if name == "add_phase":
        try:
            Duration.model_validate(args["start_after"])
        except ValueError as exc:
            raise ValueError(f"{where}.{name}.start_after: {_first_reason(exc)}") from None


def _first_reason(exc: ValueError) -> str:
    from pydantic import ValidationError

    from subscriptions.validation import reason

    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in error["loc"] if p not in ("flat", "unit", "tiered", "package"))
        return f"{loc}: {reason(error)}" if loc else reason(error)
    return str(exc)
