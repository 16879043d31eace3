"""Reading and validating a scenario file (scenario-format §1–§2) into a ``Scenario``.

The setup keys the subscription model owns (``customer``, ``plan``, ``subscription``) are validated by
``subscriptions.setup``; the runner's own keys (``name``, ``clock``, ``settings``, ``payment_app``,
``currencies``, ``meters``, ``steps``) here. Any problem is a ``ScenarioFormatError`` naming the file,
the step and the field, raised before a single step runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from billing.money import is_fiat
from billing.usage import Aggregation
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import SubscriptionView
from subscriptions.setup import DEFAULT_METERS, Setup, build_view, load_setup_file, read_setup
from subscriptions.types import Key, UtcDatetime
from subscriptions.validation import reason
from subsync.scenario.errors import ScenarioFormatError
from subsync.scenario.expect import check_expect_shape
from subsync.scenario.steps import STEP_MODELS, StepBase

PaymentApp = Literal["auto", "manual"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScenarioSettings(_Frozen):
    """Reconciler settings (reconciler §8.1) under their scenario names."""

    credits: bool = False
    credit_then_invoice: bool = True


class CurrencyDef(_Frozen):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")
    precision: int = Field(ge=0, le=18)

    @field_validator("code")
    @classmethod
    def _not_fiat(cls, code: str) -> str:
        if is_fiat(code):
            raise ValueError(f"{code!r} is an ISO 4217 currency; a custom currency needs its own code")
        return code


class MeterDef(_Frozen):
    key: Key
    aggregation: Aggregation = "sum"


class _RunnerKeys(_Frozen):
    """The top-level keys the runner reads itself (the rest belong to ``subscriptions.setup``)."""

    name: str = Field(min_length=1)
    description: str | None = None
    clock: UtcDatetime
    settings: ScenarioSettings = Field(default_factory=ScenarioSettings)
    payment_app: PaymentApp = "auto"
    currencies: tuple[CurrencyDef, ...] = ()
    meters: tuple[MeterDef, ...] = tuple(MeterDef(key=key) for key in DEFAULT_METERS)
    steps: tuple[dict[str, Any], ...] = ()

    @field_validator("settings", "currencies", "meters", "steps", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: Any) -> Any:
        if value is None:
            return cls.model_fields[info.field_name].get_default(call_default_factory=True)
        return value

    @field_validator("currencies", "meters")
    @classmethod
    def _unique(cls, values: tuple[Any, ...], info: Any) -> tuple[Any, ...]:
        keys = [getattr(v, "code", None) or getattr(v, "key") for v in values]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate {info.field_name} {', '.join(duplicates)}")
        return values


@dataclass(frozen=True)
class Scenario:
    file: Path
    name: str
    description: str | None
    clock: dt.datetime
    settings: ScenarioSettings
    payment_app: PaymentApp
    currencies: tuple[CurrencyDef, ...]
    meters: tuple[MeterDef, ...]
    setup: Setup
    view: SubscriptionView
    steps: tuple[StepBase, ...]

    @property
    def custom_currencies(self) -> dict[str, int]:
        return {c.code: c.precision for c in self.currencies}

    @property
    def namespace(self) -> str:
        return self.view.subscription.namespace

    @property
    def customer_id(self) -> str:
        return self.view.subscription.customer_id

    @property
    def subscription_id(self) -> str:
        return self.view.subscription.id

    @property
    def currency(self) -> str:
        return self.view.subscription.invoice_currency


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate ``path``; raises ``ScenarioFormatError`` for anything malformed."""
    path = Path(path)
    try:
        document = load_setup_file(path)
    except SubscriptionValidationError as exc:
        raise ScenarioFormatError(_strip_obj(exc, path), file=path) from None
    runner_keys = {k: document.get(k) for k in _RunnerKeys.model_fields if k in document}
    try:
        keys = _RunnerKeys.model_validate(runner_keys)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise ScenarioFormatError(reason(error), file=path, field=_loc(error["loc"]) or None) from None
    try:
        setup = read_setup(document)
        view = build_view(setup, clock=keys.clock)
    except SubscriptionValidationError as exc:
        field = ": ".join(p for p in (exc.obj, exc.field) if p) or None
        message = str(exc)
        if field and message.startswith(field + ": "):
            message = message[len(field) + 2 :]
        raise ScenarioFormatError(message, file=path, field=field) from None
    _check_setup_against_keys(path, keys, view)
    steps = tuple(_step(path, index, raw) for index, raw in enumerate(keys.steps))
    _check_clock_moves_forward(path, keys.clock, steps)
    return Scenario(
        file=path,
        name=keys.name,
        description=keys.description,
        clock=keys.clock,
        settings=keys.settings,
        payment_app=keys.payment_app,
        currencies=keys.currencies,
        meters=keys.meters,
        setup=setup,
        view=view,
        steps=steps,
    )


def _step(path: Path, index: int, raw: Any) -> StepBase:
    if not isinstance(raw, Mapping):
        raise ScenarioFormatError(f"a step is a mapping with a do key, got {type(raw).__name__}", file=path, step=index)
    do = raw.get("do")
    if do is None:
        raise ScenarioFormatError("is required", file=path, step=index, field="do")
    model = STEP_MODELS.get(do) if isinstance(do, str) else None
    if model is None:
        raise ScenarioFormatError(
            f"unknown operation {do!r} (expected one of {', '.join(sorted(STEP_MODELS))})", file=path, step=index, field="do"
        )
    try:
        step = model.model_validate(dict(raw))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field, message = _loc(error["loc"]) or None, reason(error)
        if field is not None and message.startswith(f"{field}[") and ": " in message:
            # a validator that names the element itself (edit_subscription ops)
            field, message = message.split(": ", 1)
        raise ScenarioFormatError(f"{message} ({do})", file=path, step=index, field=field) from None
    if step.expect is not None:
        try:
            check_expect_shape(step.expect)
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            raise ScenarioFormatError(message or field, file=path, step=index, field=f"expect.{field}" if message else "expect") from None
    return step


def _check_clock_moves_forward(path: Path, clock: dt.datetime, steps: tuple[StepBase, ...]) -> None:
    now = clock
    for index, step in enumerate(steps):
        if step.at is None:
            continue
        if step.at < now:
            raise ScenarioFormatError(
                f"{_iso(step.at)} would move the clock backwards (it is {_iso(now)}); write a past edit with "
                "effective_at instead",
                file=path, step=index, field="at",
            )
        now = step.at


def _check_setup_against_keys(path: Path, keys: _RunnerKeys, view: SubscriptionView) -> None:
    """Rate cards may only name declared meters and currencies (``subscriptions.setup`` checks the
    defaults; this covers the parsed lists)."""
    meters = {m.key for m in keys.meters}
    for phase in view.phases:
        for versions in phase.items_by_key.values():
            for version in versions:
                feature = version.rate_card.feature_key
                if feature is not None and feature not in meters:
                    raise ScenarioFormatError(
                        f"rate card {version.key!r} meters {feature!r}, which is not among the meters ({', '.join(sorted(meters))})",
                        file=path, field=f"plan.phases[{phase.key}].rate_cards[{version.key}].feature",
                    )


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if part in ("flat", "unit", "tiered", "package", "function-before[_from_file(), InvoiceRef]"):
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _strip_obj(exc: SubscriptionValidationError, path: Path) -> str:
    message = str(exc)
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _iso(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
