"""Reads and writes of charges for the lifecycles, inside the caller's unit of work.

- ``lock_and_load`` takes the per-charge row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
  serialises writers) before the charge is read (charges.md §0.4).
- ``save`` persists the charge row only when something changed, so an identical resync leaves
  ``updated_at`` alone (§7.4).
- ``save_run`` appends a run's realization row, or marks the existing one with the run's content.
"""

from __future__ import annotations

from sqlalchemy import select

from billing.charges.errors import ChargeNotFoundError
from billing.charges.models import Charge
from billing.charges.runs import Run
from billing.store.tables import ChargeRealizationRow, ChargeRow
from billing.store.unit_of_work import UnitOfWork


def lock_and_load(uow: UnitOfWork, namespace: str, charge_id: str, *, customer_id: str | None = None) -> Charge:
    query = select(ChargeRow).where(ChargeRow.namespace == namespace, ChargeRow.id == charge_id)
    row = uow.session.scalars(query.with_for_update()).one_or_none()
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        owner = f" of customer {customer_id!r}" if customer_id is not None else ""
        raise ChargeNotFoundError(f"charge {charge_id!r}{owner} not found in namespace {namespace!r}",
                                  charge_id=charge_id)
    return uow.charges.get(namespace, charge_id)


def _comparable(charge: Charge) -> dict:
    return charge.model_dump(mode="json", exclude={"realizations", "updated_at", "sequence"})


def save(uow: UnitOfWork, before: Charge | None, charge: Charge) -> Charge:
    """Persist ``charge`` when it differs from ``before`` (the loaded version); return the stored one."""
    if before is not None and _comparable(before) == _comparable(charge):
        return charge
    return uow.charges.save(charge, uow.now)


def save_run(uow: UnitOfWork, namespace: str, charge_id: str, run: Run) -> None:
    row = uow.session.scalars(select(ChargeRealizationRow).where(ChargeRealizationRow.id == run.id)).one_or_none()
    realization = run.to_realization()
    if row is None:
        uow.charges.append_realization(namespace, charge_id, realization, uow.now)
        return
    row.type = realization.type
    row.service_period_start = realization.service_period.start if realization.service_period else None
    row.service_period_end = realization.service_period.end if realization.service_period else None
    row.line_id = realization.line_id
    row.invoice_id = realization.invoice_id
    row.data = dict(realization.data)
    row.deleted_at = realization.deleted_at
    uow.session.flush()
