"""Published currency cost bases (charges.md §5.2): the custom → fiat rates that pinned and dynamic
purchase cost bases resolve against, in the caller's unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select

from billing.credit_purchases.errors import PurchaseNotFoundError
from billing.credit_purchases.models import CurrencyCostBasis
from billing.credit_purchases.tables import CurrencyCostBasisRow
from billing.store.unit_of_work import UnitOfWork


def insert_currency_cost_basis(uow: UnitOfWork, basis: CurrencyCostBasis) -> CurrencyCostBasis:
    uow.session.add(CurrencyCostBasisRow(
        id=basis.id, namespace=basis.namespace, currency=basis.currency, fiat_currency=basis.fiat_currency,
        rate=basis.rate, effective_from=basis.effective_from, created_at=uow.now,
    ))
    uow.flush()
    return basis


def _currency_basis_of(row: CurrencyCostBasisRow) -> CurrencyCostBasis:
    return CurrencyCostBasis(id=row.id, namespace=row.namespace, currency=row.currency,
                             fiat_currency=row.fiat_currency, rate=row.rate, effective_from=row.effective_from)


def get_currency_cost_basis(uow: UnitOfWork, namespace: str, basis_id: str) -> CurrencyCostBasis:
    row = uow.session.scalars(select(CurrencyCostBasisRow).where(
        CurrencyCostBasisRow.namespace == namespace, CurrencyCostBasisRow.id == basis_id)).one_or_none()
    if row is None:
        raise PurchaseNotFoundError(f"currency cost basis {basis_id!r} not found in namespace {namespace!r}")
    return _currency_basis_of(row)


def effective_currency_cost_basis(uow: UnitOfWork, namespace: str, currency: str, fiat_currency: str,
                                  at: dt.datetime) -> CurrencyCostBasis | None:
    """The latest currency cost basis of (currency, fiat) with ``effective_from ≤ at``."""
    rows: Sequence[CurrencyCostBasisRow] = uow.session.scalars(
        select(CurrencyCostBasisRow)
        .where(CurrencyCostBasisRow.namespace == namespace, CurrencyCostBasisRow.currency == currency,
               CurrencyCostBasisRow.fiat_currency == fiat_currency, CurrencyCostBasisRow.effective_from <= at)
        .order_by(CurrencyCostBasisRow.effective_from.desc(), CurrencyCostBasisRow.sequence.desc())
        .limit(1)
    ).all()
    return _currency_basis_of(rows[0]) if rows else None
