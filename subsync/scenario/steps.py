"""The steps of a scenario file (scenario-format §2): one pydantic model per operation, keyed by ``do``.

Arguments sit beside ``do``; ``at`` moves the frozen clock first and ``expect`` is checked against the
STATE after the step (``subsync.scenario.expect``). Everything a step names is validated here, so a
malformed step fails the whole file before anything runs (exit code 2).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from billing.types import Amount
from subscriptions.types import Key, UtcDatetime
from subsync.scenario.step_args import InvoiceRef, LineSet, LineSpec, SettingsPatch, UsageEventSpec, check_edit_op

ChangeSource = Literal["api", "system"]
Trigger = Literal["explicit", "automatic"]

__all__ = ["CREDIT_OPERATIONS", "STEP_MODELS", "InvoiceRef", "StepBase"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- steps -----------------------------------------------------------------------------------------


class StepBase(_Frozen):
    at: UtcDatetime | None = None
    expect: dict[str, Any] | None = None
    description: str | None = None


class SyncStep(StepBase):
    do: Literal["sync"] = "sync"
    as_of: UtcDatetime | None = None
    dry_run: bool = False
    trigger: Trigger = "explicit"


class SyncAndInvoiceStep(StepBase):
    do: Literal["sync_and_invoice"] = "sync_and_invoice"
    as_of: UtcDatetime | None = None
    trigger: Trigger = "explicit"


class ConfigureStep(StepBase):
    do: Literal["configure"] = "configure"
    settings: SettingsPatch


class InvoicePendingStep(StepBase):
    do: Literal["invoice_pending"] = "invoice_pending"
    as_of: UtcDatetime | None = None
    progressive: bool | None = None


class AdvanceInvoiceStep(StepBase):
    do: Literal["advance_invoice"] = "advance_invoice"
    invoice: InvoiceRef


class ApproveInvoiceStep(StepBase):
    do: Literal["approve_invoice"] = "approve_invoice"
    invoice: InvoiceRef


class PaymentStep(StepBase):
    do: Literal["payment"] = "payment"
    invoice: InvoiceRef
    event: Literal["authorized", "paid", "failed", "uncollectible"]


class VoidInvoiceStep(StepBase):
    do: Literal["void_invoice"] = "void_invoice"
    invoice: InvoiceRef


class DeleteInvoiceStep(StepBase):
    do: Literal["delete_invoice"] = "delete_invoice"
    invoice: InvoiceRef
    source: ChangeSource = "api"


class CreateLineStep(StepBase):
    do: Literal["create_line"] = "create_line"
    invoice: InvoiceRef
    key: Key
    line: LineSpec
    source: ChangeSource = "api"


class EditLineStep(StepBase):
    do: Literal["edit_line"] = "edit_line"
    invoice: InvoiceRef
    line: str = Field(min_length=1)
    set: LineSet
    source: ChangeSource = "api"


class DeleteLineStep(StepBase):
    do: Literal["delete_line"] = "delete_line"
    invoice: InvoiceRef
    line: str = Field(min_length=1)
    source: ChangeSource = "api"


class EditSubscriptionStep(StepBase):
    do: Literal["edit_subscription"] = "edit_subscription"
    ops: tuple[dict[str, Any], ...] = Field(min_length=1)
    effective_at: UtcDatetime | None = None

    @field_validator("ops")
    @classmethod
    def _ops(cls, ops: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
        for index, op in enumerate(ops):
            check_edit_op(index, op)
        return ops


class CancelStep(StepBase):
    do: Literal["cancel"] = "cancel"
    effective_at: UtcDatetime | None = None
    immediate: bool = False

    @model_validator(mode="after")
    def _one_time(self) -> "CancelStep":
        if (self.effective_at is None) == (not self.immediate):
            raise ValueError("give either effective_at or immediate: true")
        return self


class ContinueStep(StepBase):
    do: Literal["continue"] = "continue"


class DeleteSubscriptionStep(StepBase):
    do: Literal["delete_subscription"] = "delete_subscription"


class DeleteCustomerStep(StepBase):
    do: Literal["delete_customer"] = "delete_customer"


class UsageStep(StepBase):
    do: Literal["usage"] = "usage"
    events: tuple[UsageEventSpec, ...] = Field(min_length=1)


class GrantCreditsStep(StepBase):
    do: Literal["grant_credits"] = "grant_credits"
    amount: Amount
    effective_at: UtcDatetime | None = None


class PurchaseCreditsStep(StepBase):
    do: Literal["purchase_credits"] = "purchase_credits"
    key: Key
    amount: Amount
    settlement: Literal["invoice", "external", "promotional"]
    cost_basis: Amount | None = None
    effective_at: UtcDatetime | None = None

    @model_validator(mode="after")
    def _cost_basis(self) -> "PurchaseCreditsStep":
        if self.settlement == "promotional" and self.cost_basis is not None:
            raise ValueError("a promotional purchase takes no cost_basis")
        return self


class ExternalPaymentStep(StepBase):
    do: Literal["external_payment"] = "external_payment"
    purchase: Key
    event: Literal["authorized", "settled"]


class AdvanceChargesStep(StepBase):
    do: Literal["advance_charges"] = "advance_charges"


class SetOverrideStep(StepBase):
    do: Literal["set_override"] = "set_override"
    charge: str = Field(min_length=1)
    set: dict[str, Any]


class ClearOverrideStep(StepBase):
    do: Literal["clear_override"] = "clear_override"
    charge: str = Field(min_length=1)


STEP_MODELS: dict[str, type[StepBase]] = {
    model.model_fields["do"].default: model
    for model in (
        SyncStep, SyncAndInvoiceStep, ConfigureStep, InvoicePendingStep, AdvanceInvoiceStep, ApproveInvoiceStep,
        PaymentStep, VoidInvoiceStep, DeleteInvoiceStep, CreateLineStep, EditLineStep, DeleteLineStep,
        EditSubscriptionStep, CancelStep, ContinueStep, DeleteSubscriptionStep, DeleteCustomerStep, UsageStep,
        GrantCreditsStep, PurchaseCreditsStep, ExternalPaymentStep, AdvanceChargesStep, SetOverrideStep,
        ClearOverrideStep,
    )
}
#: Operations that need the credits (charges) backend.
CREDIT_OPERATIONS = frozenset(
    {"grant_credits", "purchase_credits", "external_payment", "advance_charges", "set_override", "clear_override"}
)
