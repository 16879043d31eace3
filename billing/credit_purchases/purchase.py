"""The credit-purchase aggregate: the charge registry row with its typed intent and its realizations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.charges.models import CreditPurchaseCharge
from billing.credit_purchases.models import (
    ChargeCostBasis,
    FiatCostBasis,
    PurchaseIntent,
    PurchaseStatus,
    ResolvedCostBasis,
    SettlementType,
    _Frozen,
)
from billing.credit_purchases.realizations import GrantRealization, InvoiceLink, Payment
from billing.period import Period


class CreditPurchase(_Frozen):
    """A credit-purchase charge (its registry row: status, state, ``advance_after``) with its typed intent
    and everything it has realized, as the lifecycle and the ledger see it at one moment."""

    charge: CreditPurchaseCharge
    intent: PurchaseIntent
    cost_basis: ChargeCostBasis | None = None
    grant: GrantRealization | None = None
    link: InvoiceLink | None = None
    payment: Payment | None = None

    # -- accessors (the charge tagged-union accessors of §1.1) -----------------------------------------
    @property
    def id(self) -> str:
        return self.charge.id

    @property
    def namespace(self) -> str:
        return self.charge.namespace

    @property
    def customer_id(self) -> str:
        return self.charge.customer_id

    @property
    def currency(self) -> str:
        return self.charge.currency

    @property
    def status(self) -> PurchaseStatus:
        return PurchaseStatus(self.charge.status)

    @property
    def meta_status(self) -> str:
        return self.status.meta

    @property
    def advance_after(self) -> dt.datetime | None:
        return self.charge.advance_after

    @property
    def created_at(self) -> dt.datetime:
        return self.charge.created_at

    @property
    def key(self) -> str | None:
        return self.intent.key

    @property
    def settlement_type(self) -> SettlementType:
        return self.intent.settlement.type

    @property
    def credit_amount(self) -> Decimal:
        return self.intent.credit_amount

    @property
    def service_period(self) -> Period:
        assert self.intent.service_period is not None  # stored intents always have one
        return self.intent.service_period

    @property
    def voided_at(self) -> dt.datetime | None:
        """Set when the purchase was voided with its invoice (§5.6.11)."""
        value = self.charge.state.get("voided_at")
        return None if value is None else dt.datetime.fromisoformat(value)

    @property
    def grant_voided_at(self) -> dt.datetime | None:
        """Set by a manual grant void (§5.7) or by the purchase void, whichever came first."""
        value = self.charge.state.get("grant_voided_at")
        return None if value is None else dt.datetime.fromisoformat(value)

    @property
    def resolved_cost_basis(self) -> ResolvedCostBasis | None:
        """A fiat basis is rebuilt from its persisted rate (resolved at creation); a custom basis is
        whatever its child row holds; promotional purchases have none."""
        basis = self.intent.cost_basis
        if isinstance(basis, FiatCostBasis):
            return ResolvedCostBasis(rate=basis.rate, fiat_currency=self.currency, resolved_at=self.created_at)
        if self.cost_basis is None:
            return None
        return self.cost_basis.resolved

    @property
    def fiat_currency(self) -> str | None:
        """The settlement fiat currency: the purchase currency (fiat basis) or the basis's; None for
        promotional purchases."""
        basis = self.intent.cost_basis
        if basis is None:
            return None
        return self.currency if isinstance(basis, FiatCostBasis) else basis.fiat_currency
