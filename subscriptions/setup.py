"""Reading the setup keys of a scenario / setup file into a ``SubscriptionView`` (scenario-format §1).

``load_setup_file`` reads YAML (times stay strings, so that naive and sub-microsecond instants can be
rejected by name); ``setups_in`` splits a ``setups:`` list; ``parse_subscription`` validates
``plan``, ``subscription`` and ``customer`` and builds the view with its persisted ranges. ``clock``,
``settings``, ``meters`` and ``currencies`` belong to the caller; only the meter keys and custom currency
codes are looked at here, to check rate cards against them.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from subscriptions import ids, validation
from subscriptions.customer import CustomerSetup
from subscriptions.display import show
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import Phase, Subscription, SubscriptionItem, SubscriptionView
from subscriptions.plan import Plan
from subscriptions.setup_yaml import load_yaml_text
from subscriptions.timeline import reschedule
from subscriptions.types import Description, Key, Name, UtcDatetime
from subscriptions.validation import parse_instant

DEFAULT_METERS = ("api-requests-total",)
#: Largest setup file read (a ``setups:`` list of thousands of subscriptions fits easily).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: A custom currency code, as the scenario runner declares them (``CREDITS``, ``TOKENS``).
CUSTOM_CURRENCY_CODE = re.compile(r"[A-Z][A-Z0-9_]{1,31}")
_KEY: TypeAdapter[str] = TypeAdapter(Key)


class SubscriptionSetup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Key = "sub-1"
    name: Name | None = None
    #: Default: the clock.
    start: UtcDatetime | None = None
    #: Default: the start.
    billing_anchor: UtcDatetime | None = None
    #: A subscription created already cancelled at this time.
    end: UtcDatetime | None = None


class Setup(BaseModel):
    """The setup keys of one file, validated. Caller-owned keys are carried unparsed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name | None = None
    description: Description | None = None
    settings: Any = None
    payment_app: Any = None
    clock: UtcDatetime | None = None
    currencies: Any = None
    meters: Any = None
    steps: Any = None
    customer: CustomerSetup = Field(default_factory=CustomerSetup)
    plan: Plan
    subscription: SubscriptionSetup = Field(default_factory=SubscriptionSetup)


#: Top-level keys a setup or scenario file may hold. Anything else is a typo and is rejected.
TOP_LEVEL_KEYS = frozenset(Setup.model_fields)


def load_setup_file(path: str | Path) -> Mapping[str, Any]:
    """The YAML document of ``path`` (a mapping). Timestamps are kept as RFC 3339 strings.

    The YAML rules of ``subscriptions.setup_yaml`` apply (no duplicate keys, bounded nesting and alias
    expansion); a file over ``MAX_FILE_BYTES`` or not UTF-8 is refused before parsing.
    """
    path = Path(path)
    name = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SubscriptionValidationError(f"cannot read the file: {exc.strerror}", obj=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SubscriptionValidationError(f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", obj=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubscriptionValidationError(f"is not UTF-8 text (byte {exc.start})", obj=name) from None
    document = load_yaml_text(text, name=name)
    if not isinstance(document, Mapping):
        raise SubscriptionValidationError(
            f"a setup file holds a mapping of setup keys, got {type(document).__name__}", obj=str(path)
        )
    return document


def setups_in(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Each setup of a document: the document itself, or every entry of its ``setups:`` list.

    Keys beside ``setups:`` (a shared ``clock``, ``currencies``, ``meters`` or ``customer``) apply to
    every entry unless the entry gives its own.
    """
    if "setups" not in document:
        return [document]
    entries = document["setups"]
    if not isinstance(entries, list) or not entries:
        raise SubscriptionValidationError("must be a non-empty list of setups", field="setups")
    shared = {k: v for k, v in document.items() if k != "setups"}
    result = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise SubscriptionValidationError(f"must be a mapping, got {type(entry).__name__}", field=f"setups[{index}]")
        result.append({**shared, **entry})
    return result


def read_setup(setup: Mapping[str, Any]) -> Setup:
    """Validate the setup keys; errors name the phase, rate card or section and the field."""
    if not isinstance(setup, Mapping):
        raise SubscriptionValidationError(f"a setup is a mapping, got {type(setup).__name__}")
    data = dict(setup)
    try:
        return Setup.model_validate(data)
    except ValidationError as exc:
        raise validation.convert(exc, _with_default_names(data)) from None


def parse_subscription(setup: Mapping[str, Any], *, clock: dt.datetime | str | None) -> SubscriptionView:
    """The subscription view a setup describes, with persisted phase starts and item ranges.

    ``clock`` is the file's frozen clock (None: read ``clock`` from ``setup``); it is the default start.
    """
    parsed = read_setup(setup)
    return build_view(parsed, clock=clock if clock is not None else parsed.clock)


def build_view(parsed: Setup, *, clock: dt.datetime | str | None) -> SubscriptionView:
    spec = parsed.subscription
    plan = parsed.plan
    if spec.start is None and clock is None:
        raise SubscriptionValidationError("is required when the file has no clock", field="subscription.start")
    start = spec.start if spec.start is not None else parse_instant(clock, field="clock")
    sub_name = f"subscription {spec.id!r}"
    _check_rate_cards(parsed)
    try:
        subscription = Subscription(
            id=spec.id,
            customer_id=parsed.customer.key,
            name=spec.name,
            plan_key=plan.key,
            active_from=start,
            active_to=spec.end,
            billing_cadence=plan.billing_cadence,
            billing_anchor=spec.billing_anchor if spec.billing_anchor is not None else start,
            pro_rating_config=plan.pro_rating,
            settlement_mode=plan.settlement_mode,
            invoice_currency=plan.currency,
        )
    except ValidationError as exc:
        raise validation.convert(exc, context=sub_name) from None
    phases = []
    for index, (phase, offset) in enumerate(zip(plan.phases, plan.phase_offsets())):
        pid = ids.phase_id(spec.id, phase.key)
        items = {
            card.key: (SubscriptionItem(id=ids.item_id(pid, card.key), key=card.key, active_from=start, rate_card=card),)
            for card in phase.rate_cards
        }
        phases.append(
            Phase(id=pid, key=phase.key, active_from=start, start_after=offset, sort_hint=index, items_by_key=items)
        )
    return reschedule(subscription, phases)


def custom_currency_codes(setup: Mapping[str, Any]) -> frozenset[str]:
    """The codes declared under ``currencies`` (custom currencies besides the ISO 4217 fiat ones)."""
    entries = setup.get("currencies") or []
    if not isinstance(entries, list):
        raise SubscriptionValidationError("must be a list of {code, precision}", field="currencies")
    codes = set()
    for index, entry in enumerate(entries):
        code = entry.get("code") if isinstance(entry, Mapping) else None
        if not isinstance(code, str) or not code:
            raise SubscriptionValidationError("needs a code", field=f"currencies[{index}]")
        if not CUSTOM_CURRENCY_CODE.fullmatch(code):
            raise SubscriptionValidationError(
                f"a custom currency code is 2 to 32 of A-Z, 0-9 and _, starting with a letter, got {show(code)}",
                field=f"currencies[{index}].code",
            )
        codes.add(code)
    return frozenset(codes)


def has_custom_currency_items(view: SubscriptionView, custom_codes: Iterable[str]) -> bool:
    """True when any item version's price is in one of ``custom_codes`` (such a subscription is not billed)."""
    codes = frozenset(custom_codes)
    return any(
        version.rate_card.price is not None and version.rate_card.price.currency in codes
        for phase in view.phases
        for versions in phase.items_by_key.values()
        for version in versions
    )


def _check_rate_cards(parsed: Setup) -> None:
    """Rules that need more than the plan: price currencies and metered features."""
    custom = custom_currency_codes({"currencies": parsed.currencies})
    meters = _meter_keys(parsed.meters)
    for phase in parsed.plan.phases:
        for card in phase.rate_cards:
            where = f"phase {phase.key!r}, rate card {card.key!r}"
            currency = card.price.currency if card.price is not None else None
            if currency is not None and currency != parsed.plan.currency and currency not in custom:
                raise SubscriptionValidationError(
                    f"currency {show(currency)} is neither the plan currency {parsed.plan.currency!r} "
                    f"nor a custom currency declared under currencies ({_listing(custom)})",
                    obj=where,
                    field="price.currency",
                )
            if card.feature_key is not None and card.feature_key not in meters:
                raise SubscriptionValidationError(
                    f"no meter {card.feature_key!r} (meters: {_listing(meters)})", obj=where, field="feature"
                )


def _meter_keys(meters: Any) -> frozenset[str]:
    if meters is None:
        return frozenset(DEFAULT_METERS)
    if not isinstance(meters, list):
        raise SubscriptionValidationError("must be a list of {key, aggregation}", field="meters")
    keys = set()
    for index, meter in enumerate(meters):
        key = meter.get("key") if isinstance(meter, Mapping) else None
        if not isinstance(key, str) or not key:
            raise SubscriptionValidationError("needs a key", field=f"meters[{index}]")
        try:
            keys.add(_KEY.validate_python(key))
        except ValidationError as exc:
            raise SubscriptionValidationError(
                validation.reason(exc.errors(include_url=False)[0]), field=f"meters[{index}].key"
            ) from None
    return frozenset(keys)


def _listing(names: Iterable[str], limit: int = 8) -> str:
    """``a, b, c`` for an error message; long lists end in ``… (N more)``."""
    ordered = sorted(names)
    if not ordered:
        return "none"
    shown = ", ".join(ordered[:limit])
    return shown if len(ordered) <= limit else f"{shown}, … ({len(ordered) - limit} more)"


def _with_default_names(data: dict[str, Any]) -> dict[str, Any]:
    """The input with the default subscription id and customer key filled in, to name them in errors."""
    named = dict(data)
    defaults = (("plan", "key", "test-plan"), ("subscription", "id", "sub-1"), ("customer", "key", "test-customer"))
    for section, key_field, default in defaults:
        value = named.get(section)
        if isinstance(value, Mapping) and key_field not in value:
            named[section] = {**value, key_field: default}
    return named
