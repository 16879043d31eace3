"""``ChargeStore``: persistence of charges and the read side of the ``ChargesPort`` (reconciler §8.2).

``apply_patches`` belongs to the charge lifecycles (a later issue); this store gives them their
reads and writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from billing.charges.models import Charge, Realization
from billing.store.repositories.charges import DeletedFilter
from billing.store.unit_of_work import Store


class ChargeStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list_charges(
        self, namespace: str, *, subscription_ids: Sequence[str], deleted_filter: DeletedFilter = "base_intent"
    ) -> list[Charge]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.charges.list(namespace, subscription_ids=subscription_ids, deleted_filter=deleted_filter)

    def list_customer_charges(self, namespace: str, customer_id: str, *, include_deleted: bool = True) -> list[Charge]:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.charges.list(namespace, customer_ids=[customer_id], include_deleted=include_deleted)

    def get_charge(self, namespace: str, charge_id: str) -> Charge:
        with self.store.unit_of_work(read_only=True) as uow:
            return uow.charges.get(namespace, charge_id)

    def create_charge(self, charge: Charge) -> Charge:
        """Store a new charge (its id from ``billing.ids.new_id``); a live duplicate identity is refused."""
        with self.store.unit_of_work() as uow:
            uow.customers.require_row(charge.namespace, charge.customer_id)
            return uow.charges.insert(charge, uow.now)

    def save_charge(self, charge: Charge) -> Charge:
        with self.store.unit_of_work() as uow:
            return uow.charges.save(charge, uow.now)

    def append_realization(self, namespace: str, charge_id: str, realization: Realization) -> Realization:
        with self.store.unit_of_work() as uow:
            return uow.charges.append_realization(namespace, charge_id, realization, uow.now)

    def update_subscription_item_id(self, namespace: str, charge_id: str, item_id: str) -> Charge:
        with self.store.unit_of_work() as uow:
            return uow.charges.update_subscription_item_id(namespace, charge_id, item_id, uow.now)
