"""Charges: the registry row with JSON intent layers, plus appended realizations (charges.md §1.6)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.charges.models import (
    Charge,
    ChargeSubscriptionReference,
    CreditPurchaseCharge,
    FlatFeeCharge,
    Realization,
    UsageBasedCharge,
)
from billing.errors import NotFoundError
from billing.period import Period
from billing.store.tables import ChargeRealizationRow, ChargeRow

CHARGE = TypeAdapter(Charge)
DeletedFilter = Literal["base_intent", "effective"]


def _realization_of(row: ChargeRealizationRow) -> Realization:
    period = None
    if row.service_period_start is not None and row.service_period_end is not None:
        period = Period(start=row.service_period_start, end=row.service_period_end)
    return Realization(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        type=row.type,
        service_period=period,
        line_id=row.line_id,
        invoice_id=row.invoice_id,
        data=dict(row.data),
        created_at=row.created_at,
        deleted_at=row.deleted_at,
        sequence=row.sequence,
    )


def _charge_of(row: ChargeRow, realizations: Sequence[Realization]) -> Charge:
    data: dict[str, Any] = {
        "id": row.id,
        "namespace": row.namespace,
        "type": row.type,
        "customer_id": row.customer_id,
        "currency": row.currency,
        "tax_config": row.tax_config,
        "unique_reference_id": row.unique_reference_id,
        "subscription": None
        if row.subscription_id is None
        else {"subscription_id": row.subscription_id, "phase_id": row.subscription_phase_id, "item_id": row.subscription_item_id},
        "status": row.status,
        "advance_after": row.advance_after,
        "state": dict(row.state),
        "realizations": list(realizations),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "deleted_at": row.deleted_at,
        "sequence": row.sequence,
    }
    if row.type == "credit_purchase":
        data["intent"] = row.base_intent
    else:
        data.update(row.attributes)
        data["settlement_mode"] = row.settlement_mode
        data["base"] = row.base_intent
        data["override"] = row.override_intent
    return CHARGE.validate_python(data)


def _write(row: ChargeRow, charge: Charge) -> None:
    row.type = charge.type
    row.customer_id = charge.customer_id
    row.currency = charge.currency
    row.unique_reference_id = charge.unique_reference_id
    ref: ChargeSubscriptionReference | None = charge.subscription
    row.subscription_id = ref.subscription_id if ref else None
    row.subscription_phase_id = ref.phase_id if ref else None
    row.subscription_item_id = ref.item_id if ref else None
    row.status = charge.status
    row.meta_status = charge.meta_status
    row.advance_after = charge.advance_after
    row.tax_config = None if charge.tax_config is None else charge.tax_config.model_dump(mode="json")
    row.state = dict(charge.state)
    if isinstance(charge, CreditPurchaseCharge):
        row.settlement_mode = None
        row.purchase_key = charge.intent.key
        row.attributes = {}
        row.base_intent = charge.intent.model_dump(mode="json")
        row.override_intent = None
        row.base_deleted_at = None
    else:
        assert isinstance(charge, (FlatFeeCharge, UsageBasedCharge))
        row.settlement_mode = charge.settlement_mode
        row.purchase_key = None
        row.attributes = {"feature_key": charge.feature_key, "cost_basis": charge.cost_basis}
        row.base_intent = charge.base.model_dump(mode="json")
        row.override_intent = None if charge.override is None else charge.override.model_dump(mode="json")
        row.base_deleted_at = charge.base.intent_deleted_at


def _effective_deleted(row: ChargeRow) -> bool:
    layer = row.override_intent if row.override_intent is not None else row.base_intent
    return row.deleted_at is not None or bool(layer and layer.get("intent_deleted_at"))


class ChargeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, namespace: str, charge_id: str) -> ChargeRow:
        row = self.session.scalars(
            select(ChargeRow).where(ChargeRow.namespace == namespace, ChargeRow.id == charge_id)
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"charge {charge_id!r} not found in namespace {namespace!r}")
        return row

    def _realizations(self, charge_ids: Sequence[str]) -> dict[str, list[Realization]]:
        result: dict[str, list[Realization]] = defaultdict(list)
        if not charge_ids:
            return result
        query = (
            select(ChargeRealizationRow)
            .where(ChargeRealizationRow.charge_id.in_(list(charge_ids)))
            .order_by(ChargeRealizationRow.sequence)
        )
        for row in self.session.scalars(query):
            result[row.charge_id].append(_realization_of(row))
        return result

    def insert(self, charge: Charge, now: dt.datetime) -> Charge:
        """Store a new charge; ``created_at``/``updated_at`` become ``now`` and ``sequence`` is assigned."""
        row = ChargeRow(id=charge.id, namespace=charge.namespace, created_at=now, updated_at=now, deleted_at=charge.deleted_at)
        _write(row, charge)
        self.session.add(row)
        self.session.flush()
        return self.get(charge.namespace, charge.id)

    def save(self, charge: Charge, now: dt.datetime) -> Charge:
        """Persist a changed charge (status, layers, state, deletion); realizations are appended separately."""
        row = self._row(charge.namespace, charge.id)
        _write(row, charge)
        row.deleted_at = charge.deleted_at
        row.updated_at = now
        self.session.flush()
        return self.get(charge.namespace, charge.id)

    def append_realization(
        self, namespace: str, charge_id: str, realization: Realization, now: dt.datetime
    ) -> Realization:
        row = ChargeRealizationRow(
            id=realization.id,
            namespace=namespace,
            charge_id=charge_id,
            kind=realization.kind,
            type=realization.type,
            service_period_start=realization.service_period.start if realization.service_period else None,
            service_period_end=realization.service_period.end if realization.service_period else None,
            line_id=realization.line_id,
            invoice_id=realization.invoice_id,
            data=dict(realization.data),
            created_at=now,
            deleted_at=realization.deleted_at,
        )
        self.session.add(row)
        self.session.flush()
        return _realization_of(row)

    def get(self, namespace: str, charge_id: str) -> Charge:
        row = self._row(namespace, charge_id)
        return _charge_of(row, self._realizations([row.id]).get(row.id, []))

    def list(
        self,
        namespace: str,
        *,
        subscription_ids: Sequence[str] | None = None,
        customer_ids: Sequence[str] | None = None,
        deleted_filter: DeletedFilter = "base_intent",
        include_deleted: bool = False,
    ) -> list[Charge]:
        """Charges in creation order (two queries). ``base_intent`` hides only charges whose base intent
        (or the charge itself) is deleted; ``effective`` also hides those whose override is deleted."""
        query = select(ChargeRow).where(ChargeRow.namespace == namespace)
        if subscription_ids is not None:
            query = query.where(ChargeRow.subscription_id.in_(list(subscription_ids)))
        if customer_ids is not None:
            query = query.where(ChargeRow.customer_id.in_(list(customer_ids)))
        if not include_deleted:
            query = query.where(ChargeRow.deleted_at.is_(None), ChargeRow.base_deleted_at.is_(None))
        rows = list(self.session.scalars(query.order_by(ChargeRow.sequence)))
        if not include_deleted and deleted_filter == "effective":
            rows = [row for row in rows if not _effective_deleted(row)]
        realizations = self._realizations([row.id for row in rows])
        return [_charge_of(row, realizations.get(row.id, [])) for row in rows]

    def update_subscription_item_id(self, namespace: str, charge_id: str, item_id: str, now: dt.datetime) -> Charge:
        row = self._row(namespace, charge_id)
        if row.subscription_id is None:
            raise NotFoundError(f"charge {charge_id!r} has no subscription reference to repair")
        row.subscription_item_id = item_id
        row.updated_at = now
        self.session.flush()
        return self.get(namespace, charge_id)

