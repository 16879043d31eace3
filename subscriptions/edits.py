"""Running edits on a subscription view (scenario-format §2; sync catalogue §0.3).

Every edit returns a new view. The spec is the source of truth: a version's ``active_from_override`` /
``active_to_override`` (relative to its phase start), the phases' ``start_after`` and the subscription's
``active_to``. After each change the persisted ranges are recomputed from it (``timeline.reschedule``),
so a cancellation that capped an item is undone by ``continue_subscription`` while an explicit removal
stays.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

from pydantic import TypeAdapter, ValidationError

from subscriptions import ids, validation
from subscriptions.display import show
from subscriptions.duration import Duration
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import Phase, RateCard, SubscriptionItem, SubscriptionView
from subscriptions.plan import rate_card_from_file
from subscriptions.timeline import PhaseCadence, intended_start, phase_cadences, reschedule
from subscriptions.types import Key
from subscriptions.validation import parse_instant

_KEY: TypeAdapter[str] = TypeAdapter(Key)


def remove_item(view: SubscriptionView, phase: str, item: str, at: dt.datetime | str) -> SubscriptionView:
    """Close the item's current version at ``at`` (a version starting exactly at ``at`` becomes
    zero-length); versions scheduled after ``at`` are dropped. In a future phase the item is removed."""
    at = _edit_time(view, at)
    phase = _key(phase, obj=f"subscription {view.subscription.id!r}", field="phase")
    item = _key(item, obj=_phase_name(view, phase), field="item")
    cadence = _open_phase(view, phase, at)
    versions = _versions(cadence.phase, item, obj=_phase_name(view, phase))
    if cadence.start > at:
        return _replace_versions(view, cadence.phase, item, ())
    kept: list[SubscriptionItem] = []
    closed = False
    for version in versions:
        start, end = _intended_range(cadence.start, version)
        if start > at:
            closed = True  # scheduled after the edit: it never starts
        elif end is None or end > at:
            kept.append(version.model_copy(update={"active_to_override": _offset(cadence.start, at)}))
            closed = True
        else:
            kept.append(version)
    if not closed:
        last_end = _intended_range(cadence.start, versions[-1])[1]
        raise SubscriptionValidationError(
            f"is not active at {_iso(at)} (its last version ended at {_iso(last_end)})",
            obj=f"{_phase_name(view, phase)}, item {item!r}",
        )
    return _replace_versions(view, cadence.phase, item, tuple(kept))


def add_item(
    view: SubscriptionView, phase: str, rate_card: RateCard | Mapping[str, Any], at: dt.datetime | str
) -> SubscriptionView:
    """Open a new version of the rate card's key at ``at`` (at the phase start for a future phase)."""
    at = _edit_time(view, at)
    phase = _key(phase, obj=f"subscription {view.subscription.id!r}", field="phase")
    cadence = _open_phase(view, phase, at)
    card = _rate_card(rate_card, where=_phase_name(view, phase))
    start = max(cadence.start, at)
    versions = cadence.phase.items_by_key.get(card.key, ())
    for version in versions:
        end = _intended_range(cadence.start, version)[1]
        if end is None or end > start:
            raise SubscriptionValidationError(
                f"is still active at {_iso(start)}; remove it before adding a new version",
                obj=f"{_phase_name(view, phase)}, item {card.key!r}",
            )
    new = SubscriptionItem(
        id=ids.item_id(cadence.phase.id, card.key, taken=(v.id for v in versions)),
        key=card.key,
        active_from=start,
        active_from_override=_offset(cadence.start, at) if at > cadence.start else None,
        rate_card=card,
    )
    return _replace_versions(view, cadence.phase, card.key, (*versions, new))


def add_phase(
    view: SubscriptionView,
    key: str,
    start_after: Duration | str,
    rate_cards: Sequence[RateCard | Mapping[str, Any]] = (),
    *,
    at: dt.datetime | str | None = None,
) -> SubscriptionView:
    """Add a phase starting at subscription start + ``start_after``; the phase it lands in ends there.

    With ``at`` (the edit time) the new phase must not start before it.
    """
    sub = view.subscription
    _not_deleted(view)
    name = f"subscription {sub.id!r}, phase {show(key)}"
    key = _key(key, obj=name)
    if not isinstance(rate_cards, (list, tuple)):
        raise SubscriptionValidationError(
            f"must be a list of rate cards, got {type(rate_cards).__name__}", obj=name, field="rate_cards"
        )
    if any(p.key == key for p in view.phases):
        raise SubscriptionValidationError("already exists", obj=name)
    offset = _duration(start_after, obj=name, field="start_after")
    try:
        start = offset.add_to(sub.active_from)
    except (OverflowError, ValueError):
        raise SubscriptionValidationError(
            f"{_iso(sub.active_from)} + {offset} lies outside the supported range of instants", obj=name,
            field="start_after",
        ) from None
    if at is not None:
        at = _edit_time(view, at)
        if start < at:
            raise SubscriptionValidationError(f"would start at {_iso(start)}, before the edit time {_iso(at)}", obj=name)
    if sub.active_to is not None and start >= sub.active_to:
        raise SubscriptionValidationError(
            f"would start at {_iso(start)}, at or after the subscription end {_iso(sub.active_to)}", obj=name
        )
    for cadence in phase_cadences(sub, view.phases):
        if cadence.start == start:
            raise SubscriptionValidationError(
                f"would start at {_iso(start)}, together with phase {cadence.phase.key!r}", obj=name
            )
    pid = ids.phase_id(sub.id, key)
    items: dict[str, tuple[SubscriptionItem, ...]] = {}
    for card in (_rate_card(c, where=name) for c in rate_cards):
        if card.key in items:
            raise SubscriptionValidationError(f"duplicate rate card key {card.key!r}", obj=name)
        items[card.key] = (SubscriptionItem(id=ids.item_id(pid, card.key), key=card.key, active_from=start, rate_card=card),)
    hints = [p.sort_hint for p in view.phases if p.sort_hint is not None]
    phase = Phase(
        id=pid, key=key, active_from=start, start_after=offset, sort_hint=max(hints, default=-1) + 1, items_by_key=items
    )
    return reschedule(sub, (*view.phases, phase))


def cancel(view: SubscriptionView, at: dt.datetime | str) -> SubscriptionView:
    """Set the subscription end; phases and item ranges are re-capped (later phases become zero-length)."""
    _not_deleted(view)
    sub = view.subscription
    at = parse_instant(at, obj=f"subscription {sub.id!r}", field="cancel.effective_at")
    if at < sub.active_from:
        raise SubscriptionValidationError(
            f"cannot be cancelled at {_iso(at)}, before its start {_iso(sub.active_from)}", obj=f"subscription {sub.id!r}"
        )
    return reschedule(sub.model_copy(update={"active_to": at}), view.phases)


def continue_subscription(view: SubscriptionView) -> SubscriptionView:
    """Remove a scheduled cancellation; item ranges are recomputed from their overrides."""
    _not_deleted(view)
    sub = view.subscription
    if sub.active_to is None:
        raise SubscriptionValidationError("has no scheduled cancellation to continue", obj=f"subscription {sub.id!r}")
    return reschedule(sub.model_copy(update={"active_to": None}), view.phases)


def delete(view: SubscriptionView, at: dt.datetime | str) -> SubscriptionView:
    """Mark the subscription deleted at ``at``; a sync then reconciles it to an empty target."""
    _not_deleted(view)
    sub = view.subscription
    at = parse_instant(at, obj=f"subscription {sub.id!r}", field="deleted_at")
    return view.model_copy(update={"subscription": sub.model_copy(update={"deleted_at": at})})


def edit_subscription(view: SubscriptionView, ops: Iterable[Mapping[str, Any]], at: dt.datetime | str) -> SubscriptionView:
    """Apply the ``ops`` of an ``edit_subscription`` step in order, all at ``at``.

    Each op is ``{remove_item: {phase, item}}``, ``{add_item: {phase, rate_card}}`` or
    ``{add_phase: {key, start_after, rate_cards}}``; errors name the op by its index.
    """
    at = parse_instant(at, obj=f"subscription {view.subscription.id!r}", field="effective_at")
    if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Iterable):
        raise SubscriptionValidationError(f"must be a list of edits, got {type(ops).__name__}", field="ops")
    for index, op in enumerate(ops):
        where = f"ops[{index}]"
        if not isinstance(op, Mapping) or len(op) != 1:
            raise SubscriptionValidationError("must be one of {remove_item: …}, {add_item: …}, {add_phase: …}", field=where)
        (name, args), = op.items()
        if name not in _OPS:
            raise SubscriptionValidationError(f"unknown edit {show(name)} (expected one of {', '.join(_OPS)})", field=where)
        required, optional = _OPS[name]
        if not isinstance(args, Mapping):
            raise SubscriptionValidationError(f"{name}: must be a mapping, got {type(args).__name__}", field=where)
        missing = [a for a in required if a not in args]
        unknown = [show(a, limit=40) for a in args if a not in required + optional]
        if missing or unknown:
            problem = f"missing {', '.join(missing)}" if missing else f"unknown field {', '.join(unknown[:5])}"
            raise SubscriptionValidationError(f"{name}: {problem}", field=where)
        try:
            if name == "remove_item":
                view = remove_item(view, args["phase"], args["item"], at)
            elif name == "add_item":
                view = add_item(view, args["phase"], args["rate_card"], at)
            else:
                view = add_phase(view, args["key"], args["start_after"], args.get("rate_cards") or (), at=at)
        except SubscriptionValidationError as exc:
            raise SubscriptionValidationError(str(exc), obj=f"{where} ({name})") from None
    return view


_OPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "remove_item": (("phase", "item"), ()),
    "add_item": (("phase", "rate_card"), ()),
    "add_phase": (("key", "start_after"), ("rate_cards",)),
}


# -- helpers -----------------------------------------------------------------------------------------


def _not_deleted(view: SubscriptionView) -> None:
    sub = view.subscription
    if sub.deleted_at is not None:
        raise SubscriptionValidationError(f"was deleted at {_iso(sub.deleted_at)}", obj=f"subscription {sub.id!r}")


def _edit_time(view: SubscriptionView, at: dt.datetime | str) -> dt.datetime:
    """A running edit's time: within the subscription (not before its start, not at or after its end)."""
    _not_deleted(view)
    sub = view.subscription
    name = f"subscription {sub.id!r}"
    at = parse_instant(at, obj=name, field="effective_at")
    if at < sub.active_from:
        raise SubscriptionValidationError(
            f"cannot be edited at {_iso(at)}, before its start {_iso(sub.active_from)}", obj=name
        )
    if sub.active_to is not None and at >= sub.active_to:
        raise SubscriptionValidationError(f"cannot be edited at {_iso(at)}: it ends at {_iso(sub.active_to)}", obj=name)
    return at


def _open_phase(view: SubscriptionView, key: str, at: dt.datetime) -> PhaseCadence:
    """The phase ``key`` with its cadence; it must not have ended by ``at``."""
    cadences = phase_cadences(view.subscription, view.phases)
    for cadence in cadences:
        if cadence.phase.key == key:
            if cadence.end is not None and cadence.end <= at:
                raise SubscriptionValidationError(
                    f"ended at {_iso(cadence.end)}, before the edit time {_iso(at)}", obj=_phase_name(view, key)
                )
            return cadence
    known = ", ".join(repr(c.phase.key) for c in cadences[:8]) + (", …" if len(cadences) > 8 else "")
    raise SubscriptionValidationError(f"has no phase {show(key)} (phases: {known})", obj=f"subscription {view.subscription.id!r}")


def _versions(phase: Phase, item: str, *, obj: str) -> tuple[SubscriptionItem, ...]:
    versions = phase.items_by_key.get(item)
    if not versions:
        keys = list(phase.items_by_key)
        known = (", ".join(repr(k) for k in keys[:8]) + (", …" if len(keys) > 8 else "")) or "none"
        raise SubscriptionValidationError(f"has no item {show(item)} (items: {known})", obj=obj)
    return versions


def _replace_versions(
    view: SubscriptionView, phase: Phase, key: str, versions: tuple[SubscriptionItem, ...]
) -> SubscriptionView:
    items = {k: v for k, v in phase.items_by_key.items() if k != key}
    if versions:
        items = {**phase.items_by_key, key: versions}
    updated = phase.model_copy(update={"items_by_key": items})
    return reschedule(view.subscription, tuple(updated if p.key == phase.key else p for p in view.phases))


def _rate_card(value: RateCard | Mapping[str, Any], *, where: str) -> RateCard:
    if isinstance(value, RateCard):
        return value
    if not isinstance(value, Mapping):
        raise SubscriptionValidationError(f"must be a mapping, got {type(value).__name__}", obj=where, field="rate_card")
    key = value.get("key")
    name = f"{where}, rate card {show(key)}" if isinstance(key, str) else where
    try:
        return RateCard.model_validate(rate_card_from_file(dict(value)))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise validation.convert(exc, value, context=name) from None
        raise SubscriptionValidationError(str(exc), obj=name) from None


def _key(value: Any, *, obj: str, field: str = "key") -> str:
    try:
        return _KEY.validate_python(value)
    except ValidationError as exc:
        raise SubscriptionValidationError(validation.reason(exc.errors(include_url=False)[0]), obj=obj, field=field) from None


def _duration(value: Duration | str, *, obj: str, field: str) -> Duration:
    try:
        return value if isinstance(value, Duration) else Duration.model_validate(value)
    except ValidationError as exc:
        raise SubscriptionValidationError(validation.reason(exc.errors(include_url=False)[0]), obj=obj, field=field) from None


def _intended_range(start_of_phase: dt.datetime, version: SubscriptionItem) -> tuple[dt.datetime, dt.datetime | None]:
    """A version's range as the spec states it (overrides only), before phase ends and cancellations cap it.

    Edits decide what is active on this range, so that an item capped by a scheduled cancellation still
    counts as running (continue would reopen it).
    """
    start = intended_start(start_of_phase, version)
    override = version.active_to_override
    return start, (override.add_to(start_of_phase) if override is not None else None)


def _offset(start_of_phase: dt.datetime, at: dt.datetime) -> Duration:
    """``at`` relative to the phase start, as elapsed time (exact in UTC)."""
    return Duration.model_validate(at - start_of_phase)


def _phase_name(view: SubscriptionView, key: str) -> str:
    return f"subscription {view.subscription.id!r}, phase {key!r}"


def _iso(t: dt.datetime | None) -> str:
    if t is None:
        return "never"
    return t.isoformat().replace("+00:00", "Z")
