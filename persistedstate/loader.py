"""``load_persisted_state``: the persisted state of one subscription (reconciler.md §2.3).

1. standard lines and 2. gathering lines of the subscription (top-level, not charge-managed,
   deleted only when ``managed_by = manual``); split children are left to their hierarchy;
3. the live split-line hierarchies, each with all its children (deleted ones included);
4. normalise every line and hierarchy on a copy; 5. refuse inverted periods;
6. wrap them and index those with an identity; 7. two invoice items with one identity raise;
8. list every invoice an invoice item references (deleted ones included); a missing one raises;
9. charges (when a charges port is given): skip those without identity, refuse credit purchases and
   unknown types, validate and wrap the rest; two with one identity raise;
10. a charge identity already held by an invoice item raises; 11. fingerprint.

The load issues a fixed number of statements whatever the number of lines, invoices or charges:
three line/hierarchy reads, one invoice listing, one charge listing (each a constant number of
queries in the store). Run it inside the sync's transaction so that it reads one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import structlog

from billing.lines import Line
from persistedstate.charges import classify_charge
from persistedstate.context import LoadContext
from persistedstate.errors import DuplicateIdentityError, MissingInvoiceError, UnknownItemTypeError
from persistedstate.fingerprint import fingerprint
from persistedstate.invoices import InvoiceSnapshot
from persistedstate.items import ChargeItem, InvoiceItem, InvoiceLineItem, PersistedItem, SplitLineGroupItem
from persistedstate.normalisation import normalise_hierarchy, normalise_line
from persistedstate.periods import check_hierarchy_periods, check_line_periods
from persistedstate.ports import BillingReadPort, ChargesReadPort
from persistedstate.state import PersistedState

log = structlog.get_logger(__name__)


def load_persisted_state(
    port: BillingReadPort,
    *,
    namespace: str,
    subscription_id: str,
    customer_id: str,
    charges: ChargesReadPort | None = None,
) -> PersistedState:
    """Load, normalise, check and index everything billing holds for the subscription.

    ``port`` is the billing store's read side (``BillingService``); ``charges`` the charges port
    (``ChargeStore``), or None when charges are not configured (then no charge is loaded). Raises a
    ``PersistedStateIntegrityError`` subclass, naming subscription, customer and identity, when the
    stored data breaks an invariant.
    """
    context = LoadContext(namespace=namespace, subscription_id=subscription_id, customer_id=customer_id)
    bound = log.bind(namespace=namespace, subscription_id=subscription_id, customer_id=customer_id)

    # Steps 1–3: the rows as stored (kept for the fingerprint).
    raw_lines = [
        line
        for line in (
            *port.get_standard_lines_for_subscription(namespace, subscription_id),
            *port.get_gathering_lines_for_subscription(namespace, subscription_id),
        )
        if is_loaded_line(line, context)
    ]
    raw_hierarchies = [
        hierarchy
        for hierarchy in port.get_split_line_hierarchies_for_subscription(namespace, subscription_id)
        if hierarchy.group.deleted_at is None
    ]

    # Steps 4–6: normalise copies, check periods, wrap.
    invoice_items: list[InvoiceItem] = []
    for line in raw_lines:
        normalised = normalise_line(line)
        check_line_periods(normalised, context=context, identity=normalised.child_unique_reference_id)
        invoice_items.append(InvoiceLineItem(line=normalised))
    for hierarchy in raw_hierarchies:
        normalised_hierarchy = normalise_hierarchy(hierarchy)
        check_hierarchy_periods(normalised_hierarchy, context=context)
        invoice_items.append(SplitLineGroupItem(hierarchy=normalised_hierarchy))

    # Steps 6–7: index by identity; one identity on two invoice items is an integrity error.
    by_identity: dict[str, PersistedItem] = {}
    for item in invoice_items:
        _index(by_identity, item, scope="invoice", context=context)

    # Step 8: the referenced invoices.
    invoices = _referenced_invoices(port, invoice_items, context)

    # Steps 9–10: charges.
    charge_items = _charge_items(charges, context) if charges is not None else []
    for identity, item in _index_charges(charge_items, context).items():
        existing = by_identity.get(identity)
        if existing is not None:
            raise _duplicate("cross_backend", identity, existing, item, context)
        by_identity[identity] = item

    # Step 11: the fingerprint of the rows as read.
    raw_items: list[Any] = [InvoiceLineItem(line=line) for line in raw_lines]
    raw_items += [SplitLineGroupItem(hierarchy=hierarchy) for hierarchy in raw_hierarchies]
    raw_items += charge_items
    state = PersistedState(
        by_identity={identity: by_identity[identity] for identity in sorted(by_identity)},
        invoices=invoices,
        fingerprint=fingerprint(raw_items, invoices.values()),
    )
    bound.debug(
        "persistedstate.loaded",
        lines=len(raw_lines),
        hierarchies=len(raw_hierarchies),
        charges=len(charge_items),
        invoices=len(invoices),
        identities=len(by_identity),
        fingerprint=state.fingerprint,
    )
    return state


def is_loaded_line(line: Line, context: LoadContext) -> bool:
    """Steps 1–2 as a predicate, re-checked on what the port returns.

    A line is loaded when it is the subscription's (namespace and subscription reference), is not
    charge-managed, is not a split child (children are loaded with their group, step 3), and is live
    or a manual tombstone (``deleted_at IS NULL OR managed_by = 'manual'``).
    """
    return (
        line.namespace == context.namespace
        and line.subscription is not None
        and line.subscription.subscription_id == context.subscription_id
        and line.charge_id is None
        and line.split_line_group_id is None
        and (line.deleted_at is None or line.managed_by == "manual")
    )


def _index(by_identity: dict[str, PersistedItem], item: PersistedItem, *, scope: Any, context: LoadContext) -> None:
    identity = item.identity
    if identity is None:
        return
    existing = by_identity.get(identity)
    if existing is not None:
        raise _duplicate(scope, identity, existing, item, context)
    by_identity[identity] = item


def _duplicate(
    scope: Any, identity: str, first: PersistedItem, second: PersistedItem, context: LoadContext
) -> DuplicateIdentityError:
    what = {"invoice": "invoice items", "charge": "charges", "cross_backend": "an invoice item and a charge"}[scope]
    return DuplicateIdentityError(
        f"duplicate identity on {what}: {first.shape} {first.id[1]} and {second.shape} {second.id[1]}",
        scope=scope,
        first_shape=first.shape,
        second_shape=second.shape,
        **context.error_context(identity),
    )


def _referenced_invoices(
    port: BillingReadPort, items: Sequence[InvoiceItem], context: LoadContext
) -> dict[str, InvoiceSnapshot]:
    """Step 8: every invoice of every invoice item, indexed or not, in one listing."""
    referenced: dict[str, InvoiceItem] = {}
    for item in items:
        if not isinstance(item, (InvoiceLineItem, SplitLineGroupItem)):
            raise UnknownItemTypeError(
                f"unknown persisted item {type(item).__name__}",
                item_type=str(getattr(item, "shape", type(item).__name__)),
                **context.error_context(getattr(item, "identity", None)),
            )
        for invoice_id in item.invoice_ids:
            referenced.setdefault(invoice_id, item)
    if not referenced:
        return {}
    listed = port.list_invoices(
        context.namespace, sorted(referenced), include_deleted=True, with_line_ids=True, with_validation_issues=True
    )
    found = {invoice.id: invoice for invoice in listed if invoice.id in referenced}
    for invoice_id in sorted(referenced):
        if invoice_id not in found:
            item = referenced[invoice_id]
            raise MissingInvoiceError(
                f"invoice not found for persisted subscription state: {invoice_id}",
                invoice_id=invoice_id,
                **context.error_context(item.identity),
            )
    return {invoice_id: InvoiceSnapshot.of(found[invoice_id]) for invoice_id in sorted(found)}


def _charge_items(charges: ChargesReadPort, context: LoadContext) -> list[ChargeItem]:
    listed = charges.list_charges(
        context.namespace, subscription_ids=[context.subscription_id], deleted_filter="base_intent"
    )
    items: list[ChargeItem] = []
    for charge in listed:
        item = classify_charge(charge, context=context)
        if item is not None:
            items.append(item)
    return items


def _index_charges(items: Iterable[ChargeItem], context: LoadContext) -> dict[str, PersistedItem]:
    by_identity: dict[str, PersistedItem] = {}
    for item in items:
        _index(by_identity, item, scope="charge", context=context)
    return by_identity
