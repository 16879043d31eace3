"""Customers and their billing profiles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.customers import BillingProfile, Customer
from billing.errors import NotFoundError
from billing.store.mapping import customer_of
from billing.store.tables import CustomerRow


class CustomerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def row(self, namespace: str, customer_id: str) -> CustomerRow | None:
        return self.session.scalars(
            select(CustomerRow).where(CustomerRow.namespace == namespace, CustomerRow.id == customer_id)
        ).one_or_none()

    def require_row(self, namespace: str, customer_id: str) -> CustomerRow:
        row = self.row(namespace, customer_id)
        if row is None:
            raise NotFoundError(f"customer {customer_id!r} not found in namespace {namespace!r}")
        return row

    def get(self, namespace: str, customer_id: str) -> Customer:
        return customer_of(self.require_row(namespace, customer_id))

    def by_key(self, namespace: str, key: str) -> Customer | None:
        row = self.session.scalars(
            select(CustomerRow).where(
                CustomerRow.namespace == namespace, CustomerRow.key == key, CustomerRow.deleted_at.is_(None)
            )
        ).one_or_none()
        return None if row is None else customer_of(row)

    def insert(
        self,
        *,
        namespace: str,
        customer_id: str,
        key: str,
        name: str | None,
        currency: str,
        profile: BillingProfile,
        now: dt.datetime,
    ) -> CustomerRow:
        row = CustomerRow(
            id=customer_id,
            namespace=namespace,
            key=key,
            name=name,
            currency=currency,
            billing_profile=profile.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        self.session.add(row)
        return row
