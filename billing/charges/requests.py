"""The inputs of the charges service: new charges and the patches of ``apply_patches``.

``coerce_patch_input`` reads the value the applier hands over (``patches.apply.ChargePatchInput``:
``customer_id``, ``creates``, ``patches_by_charge_id``) by attribute, because billing may not import
``patches``; any object of that shape works. Period patches carry the four new values of charges.md
§7.5 and are checked against the target layer by ``check_period_patch``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from billing.charges.errors import ChargeValidationError
from billing.charges.models import ChargeSubscriptionReference, FlatFeeIntent, SettlementMode, UsageBasedIntent
from billing.prices import TaxConfig
from billing.types import UtcDatetime

ChangeSource = Literal["system", "api"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Attribution(BaseModel):
    customer_id: str
    currency: str
    unique_reference_id: str | None = None
    tax_config: TaxConfig | None = None
    subscription: ChargeSubscriptionReference | None = None
    settlement_mode: SettlementMode = "credit_then_invoice"
    cost_basis: dict[str, Any] | None = None


class NewFlatFeeCharge(_Attribution, FlatFeeIntent):
    """A flat-fee charge to create: the immutable attribution plus its base layer."""

    type: Literal["flat_fee"] = "flat_fee"
    feature_key: str | None = None


class NewUsageBasedCharge(_Attribution, UsageBasedIntent):
    type: Literal["usage_based"] = "usage_based"
    feature_key: str


NewCharge = NewFlatFeeCharge | NewUsageBasedCharge


class DeletePatch(_Frozen):
    kind: Literal["delete"] = "delete"
    change_source: ChangeSource = "system"
    credit_refund: Literal["correct", "ignore"] = "correct"
    invoice_refund: Literal["refund", "grant_credits", "ignore"] = "grant_credits"


class PeriodPatch(_Frozen):
    """``shrink`` or ``extend``: new service-to, full-service-to, billing-to and ``invoice_at``."""

    kind: Literal["shrink", "extend"]
    change_source: ChangeSource = "system"
    service_period_end: UtcDatetime
    full_service_period_end: UtcDatetime
    billing_period_end: UtcDatetime
    invoice_at: UtcDatetime

    def normalized(self) -> "PeriodPatch":
        return self.model_copy(update={name: getattr(self, name).replace(microsecond=0) for name in
                                       ("service_period_end", "full_service_period_end", "billing_period_end",
                                        "invoice_at")})


ChargePatch = DeletePatch | PeriodPatch


class ChargePatchRequest(_Frozen):
    customer_id: str
    creates: tuple[NewFlatFeeCharge | NewUsageBasedCharge, ...] = ()
    patches_by_charge_id: Mapping[str, DeletePatch | PeriodPatch] = {}


def coerce_new_charge(intent: Any) -> NewCharge:
    if isinstance(intent, (NewFlatFeeCharge, NewUsageBasedCharge)):
        return intent
    data = intent.model_dump() if isinstance(intent, BaseModel) else dict(intent)
    kind = data.get("type")
    model = {"flat_fee": NewFlatFeeCharge, "usage_based": NewUsageBasedCharge}.get(kind)  # type: ignore[arg-type]
    if model is None:
        raise ChargeValidationError(f"unsupported charge type {kind!r} for a new charge", field="type")
    if model is NewUsageBasedCharge and data.get("feature_key") is None:
        data["feature_key"] = ""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ChargeValidationError(
            f"invalid {kind} charge intent {data.get('unique_reference_id')!r}: {exc}", field="intent") from exc


def coerce_patch(charge_id: str, step: Any) -> ChargePatch:
    if isinstance(step, (DeletePatch, PeriodPatch)):
        return step
    kind = str(getattr(step, "kind", "")).removeprefix("charge_")
    source = getattr(step, "change_source", "system")
    if kind == "delete":
        return DeletePatch(change_source=source)
    if kind in ("shrink", "extend"):
        changes = step.changes
        return PeriodPatch(
            kind=kind, change_source=source,
            **{name: getattr(changes, name).new for name in
               ("service_period_end", "full_service_period_end", "billing_period_end", "invoice_at")},
        ).normalized()
    raise ChargeValidationError(f"charge {charge_id}: unsupported patch {kind!r}", field="kind")


def coerce_patch_input(value: Any) -> ChargePatchRequest:
    if isinstance(value, ChargePatchRequest):
        return value
    patches = getattr(value, "patches_by_charge_id", {}) or {}
    return ChargePatchRequest(
        customer_id=value.customer_id,
        creates=tuple(coerce_new_charge(intent) for intent in getattr(value, "creates", ()) or ()),
        patches_by_charge_id={charge_id: coerce_patch(charge_id, step) for charge_id, step in patches.items()},
    )


def check_period_patch(charge_id: str, layer: FlatFeeIntent | UsageBasedIntent, patch: PeriodPatch) -> None:
    """The bounds of §7.5, against the layer the patch targets (``ChargeValidationError`` naming one)."""
    service, full, billing = layer.service_period, layer.full_service_period, layer.billing_period
    new_to = patch.service_period_end

    def bad(field: str, why: str) -> ChargeValidationError:
        return ChargeValidationError(f"charge {charge_id}: {patch.kind} {field} {why}", charge_id=charge_id,
                                     field=field)

    if patch.kind == "shrink":
        if not service.start < new_to < service.end:
            raise bad("service_period_end", f"{new_to.isoformat()} must lie strictly inside {service}")
        if not patch.full_service_period_end > full.start:
            raise bad("full_service_period_end", f"{patch.full_service_period_end.isoformat()} must be after {full.start.isoformat()}")
        if not patch.billing_period_end > billing.start:
            raise bad("billing_period_end", f"{patch.billing_period_end.isoformat()} must be after {billing.start.isoformat()}")
    else:
        if not new_to > service.end:
            raise bad("service_period_end", f"{new_to.isoformat()} must be after the current end {service.end.isoformat()}")
        if not patch.full_service_period_end >= full.start:
            raise bad("full_service_period_end", f"{patch.full_service_period_end.isoformat()} is before {full.start.isoformat()}")
        if not patch.billing_period_end >= billing.start:
            raise bad("billing_period_end", f"{patch.billing_period_end.isoformat()} is before {billing.start.isoformat()}")


def apply_period_patch(layer, patch: PeriodPatch):  # type: ignore[no-untyped-def]
    """The layer with the patch's four values set (never a ``from``)."""
    return layer.model_copy(update={
        "service_period": layer.service_period.model_copy(update={"end": patch.service_period_end}),
        "full_service_period": layer.full_service_period.model_copy(update={"end": patch.full_service_period_end}),
        "billing_period": layer.billing_period.model_copy(update={"end": patch.billing_period_end}),
        "invoice_at": patch.invoice_at,
    })


def truncate(at: dt.datetime | None) -> dt.datetime | None:
    return None if at is None else at.replace(microsecond=0)
