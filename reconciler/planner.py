"""The planner: ``plan(inputs, quantities) -> Plan`` and ``required_probes(inputs)`` (reconciler.md §3).

Pure: no I/O, no writes, no rendering, no logging above debug. The steps, in order:

1. reference repair (§3.3, only with a charges port);
2. preconditions and early exits (§3.4);
3. in-scope filtering and routing (§3.5, §3.6);
4. matching by identity in a deterministic order, every delete before any create or update (§3.7),
   each difference handled by ``diff_item`` in the collection of the persisted shape (§3.8);
5. issue changes for immutable invoices from the drift the collections recorded (§3.10);
6. assembly (§3.15).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Mapping

import structlog

from billing.period import Period
from billing.prices import FlatPrice
from patches.model import InvoiceHeader, IssueLine, IssueUpdate, Plan
from persistedstate.items import InvoiceLineItem, PersistedItem, SplitLineGroupItem
from reconciler.charges import ChargeCollection, FlatFeeChargeCollection, UsageBasedChargeCollection
from reconciler.context import PlanContext
from reconciler.drift import issue_changes
from reconciler.errors import (
    CreditsUnavailableError,
    DuplicateChargePatchError,
    FlatFeeAgainstHierarchyError,
    PriceKindMismatchError,
)
from reconciler.hierarchies import HierarchyCollection
from reconciler.inputs import PlanInputs
from reconciler.lines import LineCollection
from reconciler.probes import QuantityLookup, QuantityProbe, RecordingLookup
from reconciler.repairs import repair_references, unique_by_identity
from reconciler.routing import CHARGE_COLLECTIONS, collection_of_shape
from reconciler.scope import ScopedTarget, in_scope
from reconciler.settings import resolve_credits
from subscriptions.prices import FlatPrice as RateCardFlatPrice

log = structlog.get_logger(__name__)

Collection = LineCollection | HierarchyCollection | ChargeCollection


class Collections:
    """The four collections of one run, addressed by shape name."""

    def __init__(self, ctx: PlanContext) -> None:
        self.line = LineCollection(ctx)
        self.hierarchy = HierarchyCollection(ctx)
        self.flat_fee = FlatFeeChargeCollection(ctx)
        self.usage_based = UsageBasedChargeCollection(ctx)
        self._by_shape: dict[str, Collection] = {
            "invoice.line": self.line,
            "invoice.split_line_group": self.hierarchy,
            "charge.flat_fee": self.flat_fee,
            "charge.usage_based": self.usage_based,
        }

    def __getitem__(self, shape: str) -> Collection:
        return self._by_shape[collection_of_shape(shape)]

    def in_order(self) -> list[Collection]:
        return [self.line, self.hierarchy, self.flat_fee, self.usage_based]


def diff_item(
    ctx: PlanContext, collections: Collections, target: ScopedTarget | None, existing: PersistedItem | None
) -> None:
    """§3.8: nothing / delete / create / the collection's update of both."""
    if target is None and existing is None:
        return
    if target is None:
        collections[existing.shape].add_delete(existing)  # type: ignore[union-attr, arg-type]
        return
    if existing is None:
        collections[target.collection].add_create(target)
        return
    collection = collections[existing.shape]
    if existing.shape in CHARGE_COLLECTIONS:
        _check_charge_kind(ctx, existing, target)
        collection.diff(existing, target.target)  # type: ignore[union-attr, arg-type]
        return
    expected = target.expected
    assert expected is not None, "in-scope invoice targets carry an expected line"
    expected_flat = isinstance(expected.price, FlatPrice)
    if isinstance(existing, SplitLineGroupItem) and expected_flat:
        raise FlatFeeAgainstHierarchyError(
            "flat fee lines cannot be reconciled against a split line hierarchy",
            shape=existing.shape,
            operation="update",
            **ctx.error_context(target.identity),
        )
    if isinstance(existing, InvoiceLineItem) and expected_flat != existing.line.is_flat_fee:
        raise PriceKindMismatchError(
            f"the target is a {'flat fee' if expected_flat else 'usage based'} line but the persisted line is "
            f"{'a flat fee' if existing.line.is_flat_fee else 'usage based'}",
            shape=existing.shape,
            operation="update",
            **ctx.error_context(target.identity),
        )
    collection.add_update(existing, target)  # type: ignore[union-attr, arg-type]


def _check_charge_kind(ctx: PlanContext, existing: PersistedItem, target: ScopedTarget) -> None:
    """D-12 applied to charges too: a flat target against a usage charge (or the reverse) cannot be
    reconciled by period patches."""
    target_flat = isinstance(target.target.item.rate_card.price, RateCardFlatPrice)
    if target_flat != (existing.shape == "charge.flat_fee"):
        raise PriceKindMismatchError(
            f"the target is {'a flat fee' if target_flat else 'usage based'} but the persisted charge is "
            f"{existing.shape}",
            shape=existing.shape,
            operation="update",
            **ctx.error_context(target.identity),
        )


def _empty_plan(inputs: PlanInputs, *, repairs: tuple = ()) -> Plan:  # type: ignore[type-arg]
    return _assemble(inputs, repairs=repairs, patches=(), issue_updates=())


def _invoice_headers(inputs: PlanInputs) -> tuple[InvoiceHeader, ...]:
    invoices = inputs.persisted.invoices
    return tuple(
        InvoiceHeader(
            id=invoice.id,
            kind=invoice.kind,
            status=invoice.status,
            invoice_class=invoice.invoice_class,
            currency=invoice.currency,
        )
        for invoice in (invoices[invoice_id] for invoice_id in sorted(invoices))
    )


def _assemble(inputs: PlanInputs, *, repairs: tuple, patches: tuple, issue_updates: tuple) -> Plan:  # type: ignore[type-arg]
    facts = inputs.subscription
    return Plan(
        namespace=facts.namespace,
        subscription_id=facts.subscription_id,
        customer_id=facts.customer_id,
        currency=facts.currency,
        as_of=inputs.as_of,
        basis=inputs.persisted.fingerprint,
        has_billables=inputs.has_billables,
        max_generation_time_limit=inputs.target.max_generation_time_limit,
        reference_repairs=repairs,
        patches=patches,
        issue_updates=issue_updates,
        invoices=_invoice_headers(inputs),
    )


def _named_lines(items: Mapping[str, PersistedItem]) -> Iterator[tuple[str, str, Period | None]]:
    """Every line of the persisted state as an issue names it, as ``(line id, identity, child period)``:
    a standalone line by its identity, a split child by its group's identity and its current period."""
    for identity, item in items.items():
        if isinstance(item, InvoiceLineItem):
            yield item.line.id, identity, None
        elif isinstance(item, SplitLineGroupItem):
            for child in item.hierarchy.children:
                yield child.line.id, identity, child.line.service_period


def _issue_lines(items: Mapping[str, PersistedItem]) -> dict[str, IssueLine]:
    return {
        line_id: IssueLine(line_id=line_id, identity=identity, child_period=period)
        for line_id, identity, period in _named_lines(items)
    }


def _issue_updates(ctx: PlanContext) -> tuple[IssueUpdate, ...]:
    changes = issue_changes(ctx.invoices, ctx.drift.desired, frozenset(line_id for line_id, _, _ in _named_lines(ctx.items)))
    if not changes:
        return ()
    known = _issue_lines(ctx.items)
    updates = []
    for invoice_id, add, remove in changes:
        named = dict.fromkeys(issue.path.removeprefix("lines/") for issue in add + remove)
        updates.append(
            IssueUpdate(invoice_id=invoice_id, add=add, remove=remove, lines=tuple(known[line_id] for line_id in named))
        )
    return tuple(updates)


def _plan(inputs: PlanInputs, lookup: QuantityLookup) -> Plan:
    context = inputs.error_context()
    persisted_items: Mapping[str, PersistedItem] = inputs.persisted.by_identity
    repairs: tuple = ()  # type: ignore[type-arg]
    if inputs.charges_port_configured:  # §3.3
        repaired, repair_list = repair_references(persisted_items, inputs.target.items, context=context)
        persisted_items, repairs = repaired, tuple(repair_list)

    # §3.4 preconditions and early exits
    if inputs.subscription.settlement_mode == "credit_only" and not inputs.charges_port_configured:
        raise CreditsUnavailableError(
            "credit only settlement mode is not supported without charges service enabled", **context
        )
    if not inputs.target.items and not persisted_items:
        return _empty_plan(inputs, repairs=repairs)
    ctx = PlanContext(inputs=inputs, items=persisted_items, credits=resolve_credits(inputs.settings), lookup=lookup)
    collections = Collections(ctx)
    scoped = in_scope(ctx)
    if not scoped and not persisted_items:
        return _empty_plan(inputs, repairs=repairs)
    unique_by_identity(
        (s.target for s in scoped), context=context, message="duplicate unique ids in the upcoming lines"
    )
    targets = {s.identity: s for s in scoped}

    # §3.7 matching and order: every delete first, then creates and updates, identities sorted
    for identity in sorted(set(persisted_items) - set(targets)):
        diff_item(ctx, collections, None, persisted_items[identity])
    for identity in sorted(targets):
        diff_item(ctx, collections, targets[identity], persisted_items.get(identity))

    # §3.15 assembly
    flat_ids = set(collections.flat_fee.patches_by_charge_id)
    both = flat_ids & set(collections.usage_based.patches_by_charge_id)
    if both:
        charge_id = sorted(both)[0]
        raise DuplicateChargePatchError(
            f"patch for charge ID {charge_id} already exists", charge_id=charge_id, **context
        )
    patches = tuple(patch for collection in collections.in_order() for patch in collection.patches)
    plan = _assemble(inputs, repairs=repairs, patches=patches, issue_updates=_issue_updates(ctx))
    log.debug(
        "plan.computed",
        subscription_id=inputs.subscription.subscription_id,
        customer_id=inputs.subscription.customer_id,
        as_of=inputs.as_of.isoformat(),
        patches=len(plan.patches),
        issue_updates=len(plan.issue_updates),
        reference_repairs=len(plan.reference_repairs),
    )
    return plan


def plan(inputs: PlanInputs, quantities: Mapping[QuantityProbe, Decimal] | None = None) -> Plan:
    """The plan that turns the persisted state into the target state. Quantities of usage lines on
    immutable invoices are read from ``quantities`` (exactly ``required_probes(inputs)``); a missing
    probe raises ``PlanInvariantError``."""
    return _plan(inputs, QuantityLookup(quantities or {}, context=inputs.error_context()))


def required_probes(inputs: PlanInputs) -> set[QuantityProbe]:
    """The exact set of quantity probes ``plan(inputs, …)`` reads (found by planning with a
    recording lookup)."""
    lookup = RecordingLookup()
    _plan(inputs, lookup)
    return set(lookup.probes)


def plan_probing(inputs: PlanInputs, evaluate: Callable[[set[QuantityProbe]], Mapping[QuantityProbe, Decimal]]) -> Plan:
    """``plan(inputs, evaluate(required_probes(inputs)))`` with one planning pass when no probe is
    needed (the common case): the recording pass's plan read no quantity, so it is the plan.
    ``evaluate`` is called only with a non-empty set of probes."""
    lookup = RecordingLookup()
    draft = _plan(inputs, lookup)
    if not lookup.probes:
        return draft
    return plan(inputs, evaluate(set(lookup.probes)))
