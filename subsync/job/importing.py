"""Loading subscriptions from files into the store: the job's source of truth (``subsync subscriptions import``).

A file holds the setup keys of scenario-format §1 (``customer``, ``meters``, ``plan``,
``subscription``; ``payment_app`` too), or a list of setups under ``setups:`` (keys beside the list
apply to every entry). Every setup is validated before anything is written; then the whole file is
written in one transaction:

- the meters are registered (an existing meter takes the file's aggregation);
- the customer (id = its key) is created with the file's billing profile, or, when it exists, gets the
  file's billing profile and name;
- the subscription is inserted, or replaced by the file's version when it exists (importing the same
  file twice changes nothing). A subscription that belongs to another customer is refused.

Nothing is synced: ``subsync reconcile`` (or ``plan`` / ``apply``) does that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing.customers import BillingProfile
from billing.errors import ConflictError, NotFoundError
from billing.service import BillingService
from billing.store import Store
from billing.subscription_store import SubscriptionStore
from subscriptions.errors import SubscriptionValidationError
from subscriptions.models import SubscriptionView
from subscriptions.setup import DEFAULT_METERS, Setup, build_view, load_setup_file, read_setup, setups_in
from subsync.scenario.world import billing_profile

PAYMENT_APPS = ("auto", "manual")


@dataclass(frozen=True)
class ImportedSetup:
    setup: Setup
    view: SubscriptionView
    meters: tuple[tuple[str, str], ...]
    billing_profile: BillingProfile


@dataclass(frozen=True)
class Imported:
    view: SubscriptionView
    customer_created: bool
    subscription_created: bool

    @property
    def subscription(self) -> Any:
        return self.view.subscription


def read_import_file(path: str | Path) -> list[ImportedSetup]:
    """Validate every setup of ``path``; ``SubscriptionValidationError`` names the setup and field."""
    return read_setups(load_setup_file(path))


def read_setups(document: Mapping[str, Any]) -> list[ImportedSetup]:
    """Validate every setup of a document (one setup, or a list under ``setups:``)."""
    setups = setups_in(document)
    result: list[ImportedSetup] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(setups):
        where = f"setups[{index}]" if len(setups) > 1 else None
        try:
            parsed = read_setup(raw)
            view = build_view(parsed, clock=parsed.clock)
            meters = _meters(raw.get("meters"))
            profile = billing_profile(parsed.customer.billing_profile, _payment_app(parsed.payment_app))
        except SubscriptionValidationError as exc:
            if where is None:
                raise
            raise SubscriptionValidationError(str(exc), obj=where) from None
        sub = view.subscription
        key = (sub.namespace, sub.id)
        if key in seen:
            raise SubscriptionValidationError(
                f"subscription {sub.id!r} is also defined by setups[{seen[key]}]", obj=where, field="subscription.id"
            )
        seen[key] = index
        result.append(ImportedSetup(setup=parsed, view=view, meters=meters, billing_profile=profile))
    return result


def import_file(store: Store, path: str | Path) -> list[Imported]:
    """Validate, then write every setup of ``path`` in one transaction."""
    return import_setups(store, read_import_file(path))


def import_setups(store: Store, setups: list[ImportedSetup]) -> list[Imported]:
    """Write validated setups in one transaction."""
    billing = BillingService(store)
    subscriptions = SubscriptionStore(store)
    with store.unit_of_work():
        return [_write(billing, subscriptions, item) for item in setups]


def _write(billing: BillingService, subscriptions: SubscriptionStore, item: ImportedSetup) -> Imported:
    sub = item.view.subscription
    namespace = sub.namespace
    for key, aggregation in item.meters:
        billing.register_meter(namespace, key, aggregation)  # type: ignore[arg-type]
    customer = item.setup.customer
    try:
        existing_customer = billing.get_customer(namespace, customer.key)
    except NotFoundError:
        existing_customer = None
    if existing_customer is None:
        billing.create_customer(namespace, customer.key, customer_id=customer.key, name=customer.name,
                                currency=customer.currency, billing_profile=item.billing_profile)
    else:
        if existing_customer.billing_profile != item.billing_profile:
            billing.update_billing_profile(namespace, customer.key, item.billing_profile)
        if customer.name is not None and existing_customer.name != customer.name:
            billing.update_customer(namespace, customer.key, name=customer.name)
    try:
        existing = subscriptions.get_subscription(namespace, sub.id)
    except NotFoundError:
        existing = None
    if existing is not None and existing.customer_id != sub.customer_id:
        raise ConflictError(
            f"subscription {sub.id!r} belongs to customer {existing.customer_id!r}, not {sub.customer_id!r}"
        )
    subscriptions.upsert_subscription(
        namespace, sub.id, customer_id=sub.customer_id, view=item.view.model_dump(mode="json"),
        active_from=sub.active_from, active_to=sub.active_to,
    )
    return Imported(view=item.view, customer_created=existing_customer is None, subscription_created=existing is None)


def _meters(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return tuple((key, "sum") for key in DEFAULT_METERS)
    meters = []
    for index, meter in enumerate(value):  # shape already checked by build_view
        aggregation = meter.get("aggregation", "sum") if isinstance(meter, Mapping) else "sum"
        if aggregation not in ("sum", "count", "max", "latest", "unique_count"):
            raise SubscriptionValidationError(
                f"unknown aggregation {aggregation!r} (sum, count, max, latest or unique_count)",
                field=f"meters[{index}].aggregation",
            )
        meters.append((meter["key"], aggregation))
    return tuple(meters)


def _payment_app(value: Any) -> str:
    if value is None:
        return "auto"
    if value not in PAYMENT_APPS:
        raise SubscriptionValidationError(f"must be auto or manual, got {value!r}", field="payment_app")
    return str(value)


__all__ = ["Imported", "ImportedSetup", "import_file", "import_setups", "read_import_file", "read_setups"]
