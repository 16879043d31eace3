"""The credit-purchase vocabulary (charges.md §5): intent, settlement, cost basis, statuses, triggers.

Every model is a frozen pydantic value. Money is ``Decimal`` (floats are refused); instants are
timezone-aware UTC. Optional nested objects (settlement facts, grant, link, payment) are validated in
full when present and never dereferenced when absent (§5.9): validators test ``is None`` explicitly.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from billing.lines import ManagedBy
from billing.period import Period
from billing.prices import TaxConfig
from billing.types import UtcDatetime

ENGINE = "charge_creditpurchase"


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("money and rates are decimal strings, not floats")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite decimal")
    return value


#: A decimal given as a string or int (never a float); its sign is checked by the intent validation,
#: so that a non-positive amount or rate gets the spec's message and field path (§5.1).
Decimalish = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_finite)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- settlement ------------------------------------------------------------------------------------


class PromotionalSettlement(_Frozen):
    type: Literal["promotional"] = "promotional"


class ExternalSettlement(_Frozen):
    type: Literal["external"] = "external"
    initial_status: Literal["created", "authorized", "settled"] = "created"


class InvoiceSettlement(_Frozen):
    type: Literal["invoice"] = "invoice"


Settlement = Annotated[
    Union[PromotionalSettlement, ExternalSettlement, InvoiceSettlement], Field(discriminator="type")
]
SettlementType = Literal["promotional", "external", "invoice"]


# -- cost basis (§5.2) -----------------------------------------------------------------------------


class FiatCostBasis(_Frozen):
    """Fiat credits paid in the same fiat currency at ``rate`` per credit."""

    type: Literal["fiat"] = "fiat"
    rate: Decimalish


class ManualCostBasis(_Frozen):
    type: Literal["custom_currency"] = "custom_currency"
    mode: Literal["manual"] = "manual"
    rate: Decimalish
    fiat_currency: str


class PinnedCostBasis(_Frozen):
    type: Literal["custom_currency"] = "custom_currency"
    mode: Literal["pinned"] = "pinned"
    currency_cost_basis_id: str = Field(min_length=1)
    fiat_currency: str


class DynamicCostBasis(_Frozen):
    type: Literal["custom_currency"] = "custom_currency"
    mode: Literal["dynamic"] = "dynamic"
    fiat_currency: str


def _cost_basis_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind, mode = value.get("type"), value.get("mode")
    else:
        kind, mode = getattr(value, "type", None), getattr(value, "mode", None)
    if kind == "fiat":
        return "fiat"
    if kind == "custom_currency":
        return mode if mode in ("manual", "pinned", "dynamic") else None
    return None


CostBasis = Annotated[
    Union[
        Annotated[FiatCostBasis, Tag("fiat")],
        Annotated[ManualCostBasis, Tag("manual")],
        Annotated[PinnedCostBasis, Tag("pinned")],
        Annotated[DynamicCostBasis, Tag("dynamic")],
    ],
    Discriminator(_cost_basis_tag),
]
CustomCostBasis = ManualCostBasis | PinnedCostBasis | DynamicCostBasis


class ResolvedCostBasis(_Frozen):
    """The fiat value of one credit, as resolved (§5.2). ``resolved_at`` keeps full precision."""

    rate: Decimalish
    fiat_currency: str
    resolved_at: UtcDatetime
    source_id: str | None = None


class CurrencyCostBasis(_Frozen):
    """A published exchange rate of a custom currency: ``rate`` fiat per unit from ``effective_from``."""

    id: str
    namespace: str
    currency: str
    fiat_currency: str
    rate: Decimalish
    effective_from: UtcDatetime


class ChargeCostBasis(_Frozen):
    """The cost-basis child row of a custom-currency purchase (the charge references it, restrict)."""

    id: str
    basis: CustomCostBasis
    resolved: ResolvedCostBasis | None = None


# -- intent (§5.1) ---------------------------------------------------------------------------------


class PurchaseIntent(_Frozen):
    """What is wanted. ``service_period``/``full_service_period``/``billing_period`` may be omitted: they
    become ``{effective_at ?? now}`` when the intent is normalized (and are pinned there whenever
    ``effective_at`` is set)."""

    customer_id: str = Field(min_length=1)
    currency: str = Field(min_length=1)
    name: str
    credit_amount: Decimalish
    settlement: Settlement
    cost_basis: CostBasis | None = None
    managed_by: ManagedBy = "manual"
    annotations: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tax_config: TaxConfig | None = None
    unique_reference_id: str | None = None
    service_period: Period | None = None
    full_service_period: Period | None = None
    billing_period: Period | None = None
    effective_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    priority: int = 1
    feature_filters: tuple[str, ...] = ()
    key: str | None = None

    @property
    def settlement_type(self) -> SettlementType:
        return self.settlement.type


# -- statuses and triggers (§5.3, §1.7) ------------------------------------------------------------


class PurchaseStatus(StrEnum):
    CREATED = "created"
    ACTIVE = "active"
    INITIAL_CREDIT_GRANT = "active.initial_credit_grant"
    PAYMENT_PENDING = "active.payment.pending"
    PAYMENT_AUTHORIZED = "active.payment.authorized"
    PAID_AND_AUTHORIZED = "active.payment.paid_and_authorized"
    PAYMENT_FAILED = "active.payment.failed"
    PAYMENT_SETTLED = "active.payment.settled"
    FINAL = "final"
    VOIDED = "final.voided"
    DELETED = "deleted"

    @property
    def meta(self) -> str:
        return self.value.split(".", 1)[0]


class Trigger(StrEnum):
    """Every trigger of §1.7. Credit purchases accept only some of them; the rest are refused."""

    NEXT = "next"
    INVOICE_CREATED = "invoice_created"
    COLLECTION_COMPLETED = "collection_completed"
    INVOICE_ISSUED = "invoice_issued"
    ATTACH_INVOICE_LINE = "attach_invoice_line"
    LINE_MANUAL_EDIT = "line_manual_edit"
    SET_OVERRIDE = "set_override"
    CLEAR_OVERRIDE = "clear_override"
    SHRINK_TO_REALIZED_PERIOD = "shrink_to_realized_period"
    DELETE = "delete"
    EXTEND = "extend"
    SHRINK = "shrink"
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_PAID = "payment_paid"
    PAYMENT_FAILED = "payment_failed"
    INVOICE_VOIDED = "invoice_voided"


#: The triggers an invoice event may carry (§5.6.14).
INVOICE_EVENT_TRIGGERS = frozenset({
    Trigger.INVOICE_CREATED, Trigger.PAYMENT_AUTHORIZED, Trigger.PAYMENT_PAID, Trigger.PAYMENT_FAILED,
    Trigger.INVOICE_VOIDED,
})
