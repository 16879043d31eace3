"""The standard-invoice status machine (billing.md §1), as a pure function.

An invoice rests in one of the ``InvoiceStatus`` values. A trigger moves it to the next resting status,
passing through transient statuses whose work is listed, in order, as the transition's ``steps``; the
store runs each step's hooks in that order, in one transaction:

| step | what happens (hooks, charges.md §6.3) |
|---|---|
| ``collect`` | collection closes: usage quantities are re-snapshotted and lines rerated (on collection completed) |
| ``issue`` | lines become immutable (on invoice finalizing, then on invoice issued) |
| ``authorize`` | on payment authorized |
| ``settle`` | on payment settled |
| ``fail`` | on payment failed |
| ``mark_uncollectible`` | on invoice voided (an uncollectible invoice is written off) |
| ``void`` | on invoice voided |
| ``delete`` | the draft's lines are deleted (on mutable lines deleted by system) |

An ``advance`` goes as far as time allows: a collected invoice whose draft period is already over issues
in the same transition (OpenMeter advances until the state is stable). Anything billing.md §1 does not
list raises ``IllegalTransitionError`` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.errors import BillingValidationError, IllegalTransitionError

PaymentApp = Literal["auto", "manual"]


class InvoiceStatus(StrEnum):
    """The resting statuses of a standard invoice (OpenMeter's names)."""

    DRAFT_WAITING_FOR_COLLECTION = "draft.waiting_for_collection"
    DRAFT_WAITING_AUTO_APPROVAL = "draft.waiting_auto_approval"
    DRAFT_MANUAL_APPROVAL_NEEDED = "draft.manual_approval_needed"
    ISSUED = "issued"
    PAYMENT_PROCESSING_PENDING = "payment_processing.pending"
    PAYMENT_PROCESSING_AUTHORIZED = "payment_processing.authorized"
    PAYMENT_PROCESSING_FAILED = "payment_processing.failed"
    PAID = "paid"
    UNCOLLECTIBLE = "uncollectible"
    VOIDED = "voided"
    DELETED = "deleted"


class InvoiceTrigger(StrEnum):
    ADVANCE = "advance"
    APPROVE = "approve"
    PAYMENT_AUTHORIZED = "payment_authorized"
    PAYMENT_PAID = "payment_paid"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_UNCOLLECTIBLE = "payment_uncollectible"
    VOID = "void"
    DELETE = "delete"
    LAST_LINE_REMOVED = "last_line_removed"


class LifecycleStep(StrEnum):
    """A transient stage a transition passes through; the place where its hooks run."""

    COLLECT = "collect"
    ISSUE = "issue"
    AUTHORIZE = "authorize"
    SETTLE = "settle"
    FAIL = "fail"
    MARK_UNCOLLECTIBLE = "mark_uncollectible"
    VOID = "void"
    DELETE = "delete"


S = InvoiceStatus
T = InvoiceTrigger
Step = LifecycleStep

#: Standard statuses that accept an update (reconciler.md §1.1), transient ones included.
MUTABLE_STATUSES: frozenset[str] = frozenset({
    "draft.created", "draft.waiting_for_collection", "draft.collecting", "draft.validating",
    "draft.invalid", "draft.sync_failed", "draft.ready_to_issue", "draft.waiting_auto_approval",
    "draft.manual_approval_needed",
})

#: Every standard-invoice status name OpenMeter knows (charges.md §6.1), resting or transient.
KNOWN_STATUSES: frozenset[str] = MUTABLE_STATUSES | frozenset({
    "draft.updating", "draft.syncing",
    "delete.in_progress", "delete.syncing", "delete.failed", "deleted",
    "issuing.line_finalization", "issuing.line_finalization_failed", "issuing.syncing", "issuing.failed",
    "issuing.charge_booking", "issuing.charge_booking_failed",
    "issued",
    "payment_processing.pending", "payment_processing.booking_authorized",
    "payment_processing.booking_authorized_failed", "payment_processing.booking_authorized_and_settled",
    "payment_processing.booking_authorized_and_settled_failed", "payment_processing.authorized",
    "payment_processing.failed", "payment_processing.action_required", "payment_processing.booking_settled",
    "payment_processing.booking_settled_failed",
    "overdue", "paid", "uncollectible", "voided",
})

DRAFT_STATUSES = frozenset({S.DRAFT_WAITING_FOR_COLLECTION, S.DRAFT_WAITING_AUTO_APPROVAL,
                            S.DRAFT_MANUAL_APPROVAL_NEEDED})

#: The triggers billing.md §1 lists for each resting status (some also wait for a time).
TRIGGERS_BY_STATUS: dict[InvoiceStatus, frozenset[InvoiceTrigger]] = {
    S.DRAFT_WAITING_FOR_COLLECTION: frozenset({T.ADVANCE, T.DELETE, T.LAST_LINE_REMOVED}),
    S.DRAFT_WAITING_AUTO_APPROVAL: frozenset({T.ADVANCE, T.APPROVE, T.DELETE, T.LAST_LINE_REMOVED}),
    S.DRAFT_MANUAL_APPROVAL_NEEDED: frozenset({T.APPROVE, T.DELETE, T.LAST_LINE_REMOVED}),
    S.ISSUED: frozenset({T.ADVANCE, T.VOID}),
    S.PAYMENT_PROCESSING_PENDING: frozenset({T.PAYMENT_AUTHORIZED, T.PAYMENT_PAID, T.PAYMENT_FAILED,
                                             T.PAYMENT_UNCOLLECTIBLE, T.VOID}),
    S.PAYMENT_PROCESSING_AUTHORIZED: frozenset({T.PAYMENT_PAID, T.PAYMENT_FAILED, T.VOID}),
    S.PAYMENT_PROCESSING_FAILED: frozenset({T.PAYMENT_AUTHORIZED, T.PAYMENT_PAID, T.PAYMENT_UNCOLLECTIBLE,
                                            T.VOID}),
    S.PAID: frozenset(),
    S.UNCOLLECTIBLE: frozenset({T.VOID}),
    S.VOIDED: frozenset(),
    S.DELETED: frozenset(),
}


class Transition(BaseModel):
    """Where a trigger leads: the resting ``status`` and the ``steps`` passed through, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    previous: InvoiceStatus | None
    trigger: InvoiceTrigger | None
    status: InvoiceStatus
    steps: tuple[LifecycleStep, ...] = ()


def is_immutable(status: str) -> bool:
    """True when a standard invoice in ``status`` accepts no update (reconciler.md §1.1)."""
    name = str(status)
    if name not in KNOWN_STATUSES:
        raise BillingValidationError(f"status {name!r} is not a standard-invoice status")
    return name not in MUTABLE_STATUSES


def can_fire(status: str, trigger: str) -> bool:
    """Whether billing.md §1 lists ``trigger`` for ``status`` at all (time guards aside)."""
    return _trigger(trigger) in TRIGGERS_BY_STATUS[_status(status)]


class _Context(BaseModel):
    model_config = ConfigDict(frozen=True)

    now: dt.datetime
    collection_at: dt.datetime
    draft_period_ends_at: dt.datetime
    auto_advance: bool
    payment_app: PaymentApp
    invoice: str | None = None

    def collect(self, steps: list[Step]) -> InvoiceStatus:
        steps.append(Step.COLLECT)
        if not self.auto_advance:
            return S.DRAFT_MANUAL_APPROVAL_NEEDED
        if self.draft_period_ends_at <= self.now:
            return self.issue(steps)
        return S.DRAFT_WAITING_AUTO_APPROVAL

    def issue(self, steps: list[Step]) -> InvoiceStatus:
        steps.append(Step.ISSUE)
        return self.collect_payment(steps)

    def collect_payment(self, steps: list[Step]) -> InvoiceStatus:
        if self.payment_app == "auto":
            steps.extend([Step.AUTHORIZE, Step.SETTLE])
            return S.PAID
        return S.PAYMENT_PROCESSING_PENDING


def initial_status(
    *,
    now: dt.datetime,
    collection_at: dt.datetime,
    draft_period_ends_at: dt.datetime,
    auto_advance: bool,
    payment_app: PaymentApp,
    invoice: str | None = None,
) -> Transition:
    """The status of a standard invoice made by "invoice pending lines".

    It waits in ``draft.waiting_for_collection`` while ``collection_at`` > now; otherwise it is
    collected at once (and advances further while time allows).
    """
    ctx = _context(now, collection_at, draft_period_ends_at, auto_advance, payment_app, invoice)
    if ctx.collection_at > ctx.now:
        return Transition(previous=None, trigger=None, status=S.DRAFT_WAITING_FOR_COLLECTION)
    steps: list[Step] = []
    status = ctx.collect(steps)
    return Transition(previous=None, trigger=None, status=status, steps=tuple(steps))


def next_status(
    status: str,
    trigger: str,
    *,
    now: dt.datetime,
    collection_at: dt.datetime,
    draft_period_ends_at: dt.datetime,
    auto_advance: bool,
    payment_app: PaymentApp,
    force: bool = False,
    invoice: str | None = None,
) -> Transition:
    """Fire ``trigger`` on an invoice resting in ``status`` (billing.md §1).

    ``force`` lets ``advance`` close the collection before ``collection_at``; it waives no other wait.
    ``invoice`` (an id or reference) only names the invoice in errors.
    """
    current, fired = _status(status), _trigger(trigger)
    ctx = _context(now, collection_at, draft_period_ends_at, auto_advance, payment_app, invoice)
    if fired not in TRIGGERS_BY_STATUS[current]:
        raise _illegal(ctx, current, fired, "billing.md §1 lists no such transition")
    steps: list[Step] = []
    reached = _fire(ctx, current, fired, steps, force)
    return Transition(previous=current, trigger=fired, status=reached, steps=tuple(steps))


def _fire(ctx: _Context, current: InvoiceStatus, fired: InvoiceTrigger, steps: list[Step],
          force: bool) -> InvoiceStatus:
    if fired in (T.DELETE, T.LAST_LINE_REMOVED):
        steps.append(Step.DELETE)
        return S.DELETED
    if fired == T.VOID:
        steps.append(Step.VOID)
        return S.VOIDED
    if fired == T.APPROVE:
        return ctx.issue(steps)
    if fired == T.ADVANCE:
        if current == S.DRAFT_WAITING_FOR_COLLECTION:
            if not force and ctx.collection_at > ctx.now:
                raise _illegal(ctx, current, fired,
                               f"collection is open until {ctx.collection_at.isoformat()}")
            return ctx.collect(steps)
        if current == S.DRAFT_WAITING_AUTO_APPROVAL:
            if ctx.draft_period_ends_at > ctx.now:
                raise _illegal(ctx, current, fired,
                               f"the draft period lasts until {ctx.draft_period_ends_at.isoformat()}")
            return ctx.issue(steps)
        return ctx.collect_payment(steps)  # issued: moves on to payment at once
    if fired == T.PAYMENT_AUTHORIZED:
        steps.append(Step.AUTHORIZE)
        return S.PAYMENT_PROCESSING_AUTHORIZED
    if fired == T.PAYMENT_PAID:
        if current != S.PAYMENT_PROCESSING_AUTHORIZED:
            steps.append(Step.AUTHORIZE)  # a paid event with no prior authorization authorizes first
        steps.append(Step.SETTLE)
        return S.PAID
    if fired == T.PAYMENT_FAILED:
        steps.append(Step.FAIL)
        return S.PAYMENT_PROCESSING_FAILED
    steps.append(Step.MARK_UNCOLLECTIBLE)  # T.PAYMENT_UNCOLLECTIBLE
    return S.UNCOLLECTIBLE


def _illegal(ctx: _Context, status: InvoiceStatus, trigger: InvoiceTrigger, why: str) -> IllegalTransitionError:
    who = f"invoice {ctx.invoice}" if ctx.invoice else "invoice"
    return IllegalTransitionError(
        f"{who} in status {status.value} cannot take trigger {trigger.value}: {why}",
        status=status.value, trigger=trigger.value,
    )


def _status(status: str) -> InvoiceStatus:
    try:
        return InvoiceStatus(str(status))
    except ValueError:
        raise BillingValidationError(
            f"status {status!r} is not a resting standard-invoice status"
            f" ({', '.join(s.value for s in InvoiceStatus)})"
        ) from None


def _trigger(trigger: str) -> InvoiceTrigger:
    try:
        return InvoiceTrigger(str(trigger))
    except ValueError:
        raise BillingValidationError(
            f"trigger {trigger!r} is unknown ({', '.join(t.value for t in InvoiceTrigger)})"
        ) from None


def _context(now: dt.datetime, collection_at: dt.datetime, draft_period_ends_at: dt.datetime,
             auto_advance: bool, payment_app: str, invoice: str | None) -> _Context:
    for field, value in (("now", now), ("collection_at", collection_at),
                         ("draft_period_ends_at", draft_period_ends_at)):
        if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise BillingValidationError(f"{field} must be a timezone-aware datetime, got {value!r}")
    if payment_app not in ("auto", "manual"):
        raise BillingValidationError(f"payment_app must be auto or manual, got {payment_app!r}")
    return _Context(now=now, collection_at=collection_at, draft_period_ends_at=draft_period_ends_at,
                    auto_advance=auto_advance, payment_app=payment_app, invoice=invoice)
