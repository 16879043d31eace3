"""``ChargesService``: the charges port of reconciler.md §8.2 and the customer charge API.

- ``apply_patches(namespace, input)`` (charges.md §7.4, reconciler §5.4): patches first (delete,
  shrink, extend — hidden bases mutated in place), then rounds of "apply the batched invoice patches,
  advance the charges that can advance" (at most 100, else ``ChargeAdvanceLimitError`` and the whole
  call rolls back), creates last. New ``credit_only`` charges that are already due are advanced in a
  savepoint of their own, so the creation survives an advance failure (the advance pass retries).
- ``advance_charges(namespace, customer_id)``: the charge-advance pass for one customer (§1.8).
- ``create``, ``set_override``, ``clear_override``, ``list_charges``, ``get_charge``,
  ``update_subscription_item_id``.

Every call runs under the per-customer lock, in the caller's transaction when there is one.
Building the service registers its line engines for the store (``billing.charges.hooks``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog

from billing.charges.context import ChargeContext
from billing.charges.engines import ChargeLineEngine
from billing.charges.errors import ChargeAdvanceLimitError, ChargeNotFoundError, ChargeValidationError
from billing.charges.flat_fee.credit_only import FlatFeeCreditOnly
from billing.charges.flat_fee.credit_then_invoice import FlatFeeCreditThenInvoice
from billing.charges.hooks import register_engine
from billing.charges.invoice_patches import InvoicePatches
from billing.charges.invoice_updater import apply_invoice_patches
from billing.charges.ledger_port import ChargeLedger
from billing.charges.machine import ChargeMachine
from billing.charges.models import Charge, FlatFeeIntent, UsageBasedIntent
from billing.charges.projection import FLAT_FEE_ENGINE, USAGE_BASED_ENGINE
from billing.charges.repository import lock_and_load
from billing.charges.requests import ChargePatchRequest, NewCharge, coerce_new_charge, coerce_patch_input
from billing.charges.creation import create_charge, validate_new_charge
from billing.charges.usage_based.credit_only import UsageBasedCreditOnly
from billing.charges.usage_based.credit_then_invoice import UsageBasedCreditThenInvoice
from billing.prices import TaxConfig
from billing.store.repositories.charges import DeletedFilter
from billing.store.unit_of_work import Store, UnitOfWork

log = structlog.get_logger(__name__)

MAX_ROUNDS = 100
MACHINES: dict[tuple[str, str], type[ChargeMachine]] = {
    ("flat_fee", "credit_then_invoice"): FlatFeeCreditThenInvoice,
    ("flat_fee", "credit_only"): FlatFeeCreditOnly,
    ("usage_based", "credit_then_invoice"): UsageBasedCreditThenInvoice,
    ("usage_based", "credit_only"): UsageBasedCreditOnly,
}
#: Extra work of the advance pass for one customer (the credit-purchase backend registers its own).
Advancer = Callable[[UnitOfWork, str, str], None]


class ChargesService:
    def __init__(
        self,
        store: Store,
        ledger: ChargeLedger,
        *,
        lockdown_namespaces: frozenset[str] = frozenset(),
        invoicing_tax_config: TaxConfig | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.lockdown_namespaces = frozenset(lockdown_namespaces)
        self.invoicing_tax_config = invoicing_tax_config
        self.machines = dict(MACHINES)
        self.advancers: list[Advancer] = []
        register_engine(store, FLAT_FEE_ENGINE, ChargeLineEngine(self, FLAT_FEE_ENGINE))
        register_engine(store, USAGE_BASED_ENGINE, ChargeLineEngine(self, USAGE_BASED_ENGINE))

    # -- machines ----------------------------------------------------------------------------------
    def machine(self, ctx: ChargeContext, charge: Charge) -> ChargeMachine:
        mode = getattr(charge, "settlement_mode", None)
        cls = self.machines.get((charge.type, mode or ""))
        if cls is None:
            raise ChargeValidationError(f"charge {charge.id}: unsupported charge type {charge.type}",
                                        charge_id=charge.id, field="type")
        return cls(ctx, charge)

    def _context(self, uow: UnitOfWork) -> ChargeContext:
        return ChargeContext(uow, self.ledger)

    def _check_namespace(self, namespace: str) -> None:
        if namespace in self.lockdown_namespaces:
            raise ChargeValidationError(f"namespace {namespace!r} is locked down: charges cannot change",
                                        field="namespace")

    # -- reads (ChargesPort) -----------------------------------------------------------------------
    def list_charges(self, namespace: str, *, subscription_ids: Sequence[str],
                     deleted_filter: DeletedFilter = "base_intent") -> list[Charge]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.charges.list(namespace, subscription_ids=subscription_ids, deleted_filter=deleted_filter)

    def list_customer_charges(self, namespace: str, customer_id: str, *, include_deleted: bool = True) -> list[Charge]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.charges.list(namespace, customer_ids=[customer_id], include_deleted=include_deleted)

    def get_charge(self, namespace: str, charge_id: str) -> Charge:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.charges.get(namespace, charge_id)

    def update_subscription_item_id(self, namespace: str, charge_id: str, item_id: str) -> Charge:
        with self.store.unit_of_work() as uow:
            return uow.charges.update_subscription_item_id(namespace, charge_id, item_id, uow.now)

    # -- creation ----------------------------------------------------------------------------------
    def create(self, namespace: str, new: NewCharge | Any) -> Charge:
        """Create one charge (its gathering line too, for ``credit_then_invoice``)."""
        new = coerce_new_charge(new)
        self._check_namespace(namespace)
        with self.store.locked_transaction(namespace, new.customer_id) as uow:
            ctx = self._context(uow)
            machine = create_charge(ctx, namespace, new, default_tax=self.invoicing_tax_config)
            apply_invoice_patches(uow, namespace, new.customer_id, machine.take_patches())
            charge_id = machine.charge.id
        self._advance_new_credit_only(namespace, new.customer_id, [charge_id])
        return self.get_charge(namespace, charge_id)

    def _advance_new_credit_only(self, namespace: str, customer_id: str, charge_ids: Sequence[str]) -> None:
        """§3.5: a new credit_only charge already due is advanced at once, in its own savepoint."""
        for charge_id in charge_ids:
            try:
                with self.store.locked_transaction(namespace, customer_id) as uow:
                    charge = lock_and_load(uow, namespace, charge_id)
                    if getattr(charge, "settlement_mode", None) != "credit_only" or charge.advance_after is None \
                            or charge.advance_after > uow.now:
                        continue
                    machine = self.machine(self._context(uow), charge)
                    machine.advance_until_stable()
            except Exception as exc:  # noqa: BLE001 - the creation stands; the advance pass retries
                log.error("charges.advance_after_create_failed", namespace=namespace, customer_id=customer_id,
                          charge_id=charge_id, error=str(exc))

    # -- apply_patches (charges.md §7.4) -------------------------------------------------------------
    def apply_patches(self, namespace: str, patches: ChargePatchRequest | Any) -> None:
        request = coerce_patch_input(patches)
        self._check_namespace(namespace)
        created: list[str] = []
        with self.store.locked_transaction(namespace, request.customer_id) as uow:
            ctx = self._context(uow)
            uow.customers.require_row(namespace, request.customer_id)
            for new in request.creates:
                validate_new_charge(ctx, namespace, new, default_tax=self.invoicing_tax_config,
                                    customer_id=request.customer_id)
            batch = InvoicePatches()
            advanceable: list[str] = []
            for charge_id in sorted(request.patches_by_charge_id):
                patch = request.patches_by_charge_id[charge_id]
                charge = lock_and_load(uow, namespace, charge_id, customer_id=request.customer_id)
                if charge.type == "credit_purchase":
                    raise ChargeValidationError(f"charge {charge_id}: unsupported charge type credit_purchase",
                                                charge_id=charge_id, field="type")
                machine = self.machine(ctx, charge)
                machine.advance_until_stable()
                if patch.change_source == "system" and machine.hides_base():  # type: ignore[attr-defined]
                    machine.patch_hidden_base(patch)  # type: ignore[attr-defined]
                    continue
                machine.fire(patch.kind, patch=patch)
                batch.extend(machine.take_patches())
                if machine.can_fire("next"):
                    advanceable.append(charge_id)
            self._drain_rounds(ctx, namespace, request.customer_id, batch, advanceable)
            creations = InvoicePatches()
            for new in request.creates:
                machine = create_charge(ctx, namespace, new, default_tax=self.invoicing_tax_config)
                creations.extend(machine.take_patches())
                created.append(machine.charge.id)
            apply_invoice_patches(uow, namespace, request.customer_id, creations)
        # After the creates (inside a caller's sync transaction: in a savepoint of its own).
        self._advance_new_credit_only(namespace, request.customer_id, created)

    def _drain_rounds(self, ctx: ChargeContext, namespace: str, customer_id: str, batch: InvoicePatches,
                      advanceable: list[str]) -> None:
        """Apply invoice patches and advance what can advance until nothing is left (≤ 100 rounds)."""
        rounds = 0
        while batch or advanceable:
            rounds += 1
            if rounds > MAX_ROUNDS:
                raise ChargeAdvanceLimitError(
                    f"customer {customer_id}: charges still produced invoice patches after {MAX_ROUNDS} rounds"
                    f" (charges {sorted(advanceable)})", customer_id=customer_id)
            apply_invoice_patches(ctx.uow, namespace, customer_id, batch)
            batch = InvoicePatches()
            still: list[str] = []
            for charge_id in advanceable:
                machine = self.machine(ctx, lock_and_load(ctx.uow, namespace, charge_id))
                patches = machine.advance_until_invoice_patches_or_stable()
                batch.extend(patches)
                if patches and machine.can_fire("next"):
                    still.append(charge_id)
            advanceable = still

    # -- the charge-advance pass (charges.md §1.8) ---------------------------------------------------
    def advance_charges(self, namespace: str, customer_id: str) -> list[Charge]:
        """Advance every flat-fee and usage charge of the customer whose ``advance_after`` ≤ now."""
        self._check_namespace(namespace)
        with self.store.locked_transaction(namespace, customer_id) as uow:
            ctx = self._context(uow)
            due = [c.id for c in uow.charges.list(namespace, customer_ids=[customer_id])
                   if c.type != "credit_purchase" and c.advance_after is not None and c.advance_after <= uow.now]
            self._drain_rounds(ctx, namespace, customer_id, InvoicePatches(), due)
            for advancer in self.advancers:
                advancer(uow, namespace, customer_id)
            return [uow.charges.get(namespace, charge_id) for charge_id in due]

    def due_customers(self, namespace: str) -> list[str]:
        """Customers that have a flat-fee or usage charge due (``advance_after`` ≤ now)."""
        with self.store.unit_of_work(read_only=True) as uow:
            from sqlalchemy import select

            from billing.store.tables import ChargeRow

            query = select(ChargeRow.customer_id).where(
                ChargeRow.namespace == namespace, ChargeRow.deleted_at.is_(None),
                ChargeRow.type != "credit_purchase", ChargeRow.advance_after <= uow.now).distinct()
            return sorted(uow.session.scalars(query))

    # -- the customer charge API (charges.md §1.3, §7.7) ---------------------------------------------
    def set_override(self, namespace: str, customer_id: str, charge_id: str,
                     override: FlatFeeIntent | UsageBasedIntent) -> Charge:
        return self._api(namespace, customer_id, charge_id, "set_override", override=override)

    def clear_override(self, namespace: str, customer_id: str, charge_id: str) -> Charge:
        return self._api(namespace, customer_id, charge_id, "clear_override")

    def delete(self, namespace: str, customer_id: str, charge_id: str) -> Charge:
        from billing.charges.requests import DeletePatch

        return self._api(namespace, customer_id, charge_id, "delete",
                         patch=DeletePatch(change_source="api", credit_refund="ignore", invoice_refund="ignore"))

    def _api(self, namespace: str, customer_id: str, charge_id: str, trigger: str, **args: Any) -> Charge:
        self._check_namespace(namespace)
        with self.store.locked_transaction(namespace, customer_id) as uow:
            ctx = self._context(uow)
            charge = lock_and_load(uow, namespace, charge_id, customer_id=customer_id)
            if charge.type == "credit_purchase":
                raise ChargeValidationError(f"charge {charge_id}: unsupported charge type credit_purchase",
                                            charge_id=charge_id, field="type")
            if trigger == "clear_override" and charge.override is None:  # type: ignore[union-attr]
                return charge
            machine = self.machine(ctx, charge)
            machine.advance_until_stable()
            if "override" in args:
                args["override"] = _normalized_override(charge, args["override"])
            machine.fire(trigger, **args)
            batch = machine.take_patches()
            self._drain_rounds(ctx, namespace, customer_id, batch, [charge_id] if machine.can_fire("next") else [])
            return uow.charges.get(namespace, charge_id)


def _normalized_override(charge: Charge, override: Any) -> Any:
    layer_type = type(charge.base)  # type: ignore[union-attr]
    data = override.model_dump() if hasattr(override, "model_dump") else dict(override)
    layer = layer_type.model_validate({k: v for k, v in data.items() if k in layer_type.model_fields})
    return layer.model_copy(update={
        "invoice_at": layer.invoice_at.replace(microsecond=0),
        "service_period": layer.service_period.truncated(),
        "full_service_period": layer.full_service_period.truncated(),
        "billing_period": layer.billing_period.truncated(),
    })


__all__ = ["ChargesService", "ChargeNotFoundError", "MAX_ROUNDS"]
