"""Creating flat-fee and usage-based charges (charges.md §1.1, §3.1, §3.4.1, §3.5, §4.1, §7.2).

Validation (``ChargeValidationError`` naming the field): a non-empty name and identity (when
present), periods that do not end before they start, a currency known to the store, no cost basis
for a fiat currency (and one required for a custom-currency ``credit_then_invoice`` charge), a usage
feature that resolves to a meter. A live charge with the same identity is a ``ChargeConflictError``.
The namespace's invoicing default tax config is stamped when the intent has none. Timestamps are
truncated to whole seconds.

A new charge is ``created`` with ``advance_after`` set by its machine (flat fees: ``invoice_at``;
``credit_only`` usage: the service start), except a ``credit_then_invoice`` usage charge: it has none
and stays ``created`` until billing invoices its line or a sync patch touches it (the catalogue's C-011
asserts ``advance_after: null``). A ``credit_then_invoice`` flat fee with a non-zero amount gets one
gathering line; a ``credit_then_invoice`` usage charge gets one for its whole service period;
``credit_only`` charges never touch billing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from billing.charges.context import ChargeContext
from billing.charges.errors import ChargeConflictError, ChargeValidationError
from billing.charges.invoice_patches import LineCreate
from billing.charges.machine import ChargeMachine
from billing.charges.models import FlatFeeCharge, UsageBasedCharge
from billing.charges.projection import flat_fee_line, usage_line
from billing.charges.requests import NewCharge, NewFlatFeeCharge
from billing.errors import BillingValidationError
from billing.ids import new_id
from billing.prices import TaxConfig
from billing.store.tables import ChargeRow

LAYER_FIELDS = ("managed_by", "annotations", "name", "description", "metadata", "service_period",
                "full_service_period", "billing_period", "invoice_at", "intent_deleted_at")


def _bad(new: NewCharge, field: str, why: str) -> ChargeValidationError:
    who = new.unique_reference_id or new.name
    return ChargeValidationError(f"{new.type} charge {who!r}: {field} {why}", field=field)


def validate_new_charge(ctx: ChargeContext, namespace: str, new: NewCharge, *, default_tax: TaxConfig | None,
                        customer_id: str | None = None) -> None:
    if customer_id is not None and new.customer_id != customer_id:
        raise _bad(new, "customer_id", f"{new.customer_id!r} is not the patched customer {customer_id!r}")
    if not new.customer_id:
        raise _bad(new, "customer_id", "is required")
    if not new.name or not new.name.strip():
        raise _bad(new, "name", "is required")
    if new.unique_reference_id == "":
        raise _bad(new, "unique_reference_id", "must be non-empty when present")
    if new.intent_deleted_at is not None:
        raise _bad(new, "intent_deleted_at", "cannot be set on a new charge")
    for field in ("service_period", "full_service_period", "billing_period"):
        period = getattr(new, field)
        if period.is_inverted:
            raise _bad(new, field, f"{period} ends before it starts")
    try:
        ctx.precision(new.currency)
    except BillingValidationError as exc:
        raise _bad(new, "currency", str(exc)) from exc
    custom = ctx.is_custom_currency(new.currency)
    if not custom and new.cost_basis is not None:
        raise _bad(new, "cost_basis", "is only for custom-currency credit_then_invoice charges")
    if custom and new.settlement_mode == "credit_then_invoice" and new.cost_basis is None:
        raise _bad(new, "cost_basis", "is required for a custom-currency credit_then_invoice charge")
    if new.type == "usage_based":
        if not new.feature_key:
            raise _bad(new, "feature_key", "is required for a usage-based charge")
        if ctx.uow.usage.meter(namespace, new.feature_key) is None:
            raise _bad(new, "feature_key", f"{new.feature_key!r} has no meter")
    ctx.uow.customers.require_row(namespace, new.customer_id)


def _require_unique(ctx: ChargeContext, namespace: str, new: NewCharge) -> None:
    if new.unique_reference_id is None:
        return
    query = select(ChargeRow.id).where(ChargeRow.namespace == namespace, ChargeRow.deleted_at.is_(None),
                                       ChargeRow.unique_reference_id == new.unique_reference_id)
    existing = ctx.uow.session.scalars(query).first()
    if existing is not None:
        raise ChargeConflictError(
            f"a live charge ({existing}) already has the identity {new.unique_reference_id!r}", charge_id=existing)


def _layer(new: NewCharge, layer_type: Any) -> Any:
    data = {name: getattr(new, name) for name in layer_type.model_fields}
    layer = layer_type.model_validate(data)
    return layer.model_copy(update={
        "invoice_at": layer.invoice_at.replace(microsecond=0),
        "service_period": layer.service_period.truncated(),
        "full_service_period": layer.full_service_period.truncated(),
        "billing_period": layer.billing_period.truncated(),
    })


def create_charge(ctx: ChargeContext, namespace: str, new: NewCharge, *, default_tax: TaxConfig | None) -> ChargeMachine:
    """Validate and store ``new``; return its machine holding the invoice patches to apply."""
    from billing.charges.flat_fee.credit_then_invoice import FlatFeeCreditThenInvoice
    from billing.charges.flat_fee.credit_only import FlatFeeCreditOnly
    from billing.charges.usage_based.credit_only import UsageBasedCreditOnly
    from billing.charges.usage_based.credit_then_invoice import UsageBasedCreditThenInvoice

    validate_new_charge(ctx, namespace, new, default_tax=default_tax)
    _require_unique(ctx, namespace, new)
    tax = new.tax_config if new.tax_config is not None and new.tax_config.code else (default_tax or new.tax_config)
    common: dict[str, Any] = dict(
        id=new_id(), namespace=namespace, customer_id=new.customer_id, currency=new.currency, tax_config=tax,
        unique_reference_id=new.unique_reference_id, subscription=new.subscription, status="created",
        created_at=ctx.now, updated_at=ctx.now, sequence=0, settlement_mode=new.settlement_mode,
        cost_basis=new.cost_basis,
    )
    if isinstance(new, NewFlatFeeCharge):
        charge: Any = FlatFeeCharge(**common, feature_key=new.feature_key or None,
                                    base=_layer(new, FlatFeeCharge.model_fields["base"].annotation))
        machine_type: Any = FlatFeeCreditThenInvoice if new.settlement_mode == "credit_then_invoice" else FlatFeeCreditOnly
    else:
        charge = UsageBasedCharge(**common, feature_key=new.feature_key,
                                  base=_layer(new, UsageBasedCharge.model_fields["base"].annotation))
        machine_type = UsageBasedCreditThenInvoice if new.settlement_mode == "credit_then_invoice" else UsageBasedCreditOnly
    stored = ctx.uow.charges.insert(charge, ctx.now)
    machine = machine_type(ctx, stored)
    if isinstance(charge, FlatFeeCharge):
        amount = machine.recompute_amount()
        if new.settlement_mode == "credit_then_invoice" and amount > 0:
            machine.emit(LineCreate(currency=charge.currency,
                                    line=flat_fee_line(machine.charge, amount,
                                                       custom_currency=ctx.is_custom_currency(charge.currency))))
    elif new.settlement_mode == "credit_then_invoice":
        machine.emit(LineCreate(currency=charge.currency, line=usage_line(machine.charge, machine.period)))
    if not (isinstance(charge, UsageBasedCharge) and new.settlement_mode == "credit_then_invoice"):
        # A new credit_then_invoice usage charge is not scheduled: it waits, `created` with no
        # advance_after, until billing invoices its line or a patch touches it (C-011).
        machine.activate()
    machine.persist()
    return machine
