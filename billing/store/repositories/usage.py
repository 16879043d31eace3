"""Meters and usage events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.errors import NotFoundError
from billing.ids import new_id
from billing.store.tables import MeterRow, UsageEventRow
from billing.usage import Meter, NewUsageEvent, UsageEvent


class UsageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def meter(self, namespace: str, key: str) -> Meter | None:
        row = self.session.scalars(
            select(MeterRow).where(MeterRow.namespace == namespace, MeterRow.key == key)
        ).one_or_none()
        return None if row is None else Meter(namespace=row.namespace, key=row.key, aggregation=row.aggregation)  # type: ignore[arg-type]

    def require_meter(self, namespace: str, key: str) -> Meter:
        meter = self.meter(namespace, key)
        if meter is None:
            raise NotFoundError(f"meter {key!r} not found in namespace {namespace!r}")
        return meter

    def upsert_meter(self, meter: Meter, now: dt.datetime) -> Meter:
        row = self.session.scalars(
            select(MeterRow).where(MeterRow.namespace == meter.namespace, MeterRow.key == meter.key)
        ).one_or_none()
        if row is None:
            self.session.add(
                MeterRow(id=new_id(), namespace=meter.namespace, key=meter.key, aggregation=meter.aggregation, created_at=now)
            )
        else:
            row.aggregation = meter.aggregation
        self.session.flush()
        return meter

    def insert_events(
        self, namespace: str, customer_id: str, meter_key: str, events: Sequence[NewUsageEvent], now: dt.datetime
    ) -> list[UsageEvent]:
        rows = [
            UsageEventRow(
                id=new_id(),
                namespace=namespace,
                customer_id=customer_id,
                meter_key=meter_key,
                time=event.time,
                value=event.value,
                ingested_at=now,
            )
            for event in events
        ]
        self.session.add_all(rows)
        self.session.flush()
        return [
            UsageEvent(
                id=row.id,
                namespace=namespace,
                customer_id=customer_id,
                meter_key=meter_key,
                time=row.time,
                value=row.value,
                ingested_at=now,
                sequence=row.sequence,
            )
            for row in rows
        ]

    def events(
        self, namespace: str, customer_id: str, meter_key: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, Decimal]]:
        """Events with ``start ≤ time < end``, in time then ingestion order."""
        query = (
            select(UsageEventRow.time, UsageEventRow.value)
            .where(
                UsageEventRow.namespace == namespace,
                UsageEventRow.customer_id == customer_id,
                UsageEventRow.meter_key == meter_key,
                UsageEventRow.time >= start,
                UsageEventRow.time < end,
            )
            .order_by(UsageEventRow.time, UsageEventRow.sequence)
        )
        return [(time, value) for time, value in self.session.execute(query)]
