"""The standard-invoice status machine: every row of billing.md §1, and every pair it does not list."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest

from billing.errors import BillingValidationError, IllegalTransitionError
from billing.invoice_lifecycle import (
    MUTABLE_STATUSES,
    InvoiceStatus,
    InvoiceTrigger,
    can_fire,
    initial_status,
    is_immutable,
    next_status,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 2, 1, 12, tzinfo=UTC)
PAST = NOW - dt.timedelta(hours=1)
FUTURE = NOW + dt.timedelta(hours=1)

WFC = "draft.waiting_for_collection"
WAA = "draft.waiting_auto_approval"
MAN = "draft.manual_approval_needed"
ISSUED = "issued"
PENDING = "payment_processing.pending"
AUTHORIZED = "payment_processing.authorized"
FAILED = "payment_processing.failed"
PAID, UNCOLLECTIBLE, VOIDED, DELETED = "paid", "uncollectible", "voided", "deleted"

AUTO_PAYMENT = ("issue", "authorize", "settle")  # issue with the auto app: authorized, then settled


@dataclass(frozen=True)
class Row:
    status: str
    trigger: str
    to: str
    steps: tuple[str, ...]
    collection_due: bool = True
    draft_due: bool = False
    auto_advance: bool = True
    payment_app: str = "auto"
    force: bool = False

    def fire(self, **overrides: object):  # type: ignore[no-untyped-def]
        return fire(self.status, self.trigger, collection_due=self.collection_due, draft_due=self.draft_due,
                    auto_advance=self.auto_advance, payment_app=self.payment_app, force=self.force,
                    **overrides)


def fire(status: str, trigger: str, *, collection_due: bool = True, draft_due: bool = False,
         auto_advance: bool = True, payment_app: str = "auto", force: bool = False, **overrides: object):  # type: ignore[no-untyped-def]
    kwargs = dict(now=NOW, collection_at=PAST if collection_due else FUTURE,
                  draft_period_ends_at=PAST if draft_due else FUTURE, auto_advance=auto_advance,
                  payment_app=payment_app, force=force)
    kwargs.update(overrides)
    return next_status(status, trigger, **kwargs)  # type: ignore[arg-type]


# billing.md §1, one entry per row (and per status of a row naming several)
TABLE = [
    # waiting for collection: advance once collection_at ≤ now (or forced), then by auto-advance
    Row(WFC, "advance", WAA, ("collect",)),
    Row(WFC, "advance", MAN, ("collect",), auto_advance=False),
    Row(WFC, "advance", WAA, ("collect",), collection_due=False, force=True),
    # … and on as far as time allows: the draft period is over too
    Row(WFC, "advance", PAID, ("collect",) + AUTO_PAYMENT, draft_due=True),
    Row(WFC, "advance", PENDING, ("collect", "issue"), draft_due=True, payment_app="manual"),
    Row(WFC, "advance", MAN, ("collect",), draft_due=True, auto_advance=False),
    # waiting auto approval: advance once the draft period is over, or approve → issue
    Row(WAA, "advance", PAID, AUTO_PAYMENT, draft_due=True),
    Row(WAA, "advance", PENDING, ("issue",), draft_due=True, payment_app="manual"),
    Row(WAA, "approve", PAID, AUTO_PAYMENT),
    Row(WAA, "approve", PENDING, ("issue",), payment_app="manual"),
    # manual approval needed: approve → issue
    Row(MAN, "approve", PAID, AUTO_PAYMENT, auto_advance=False),
    Row(MAN, "approve", PENDING, ("issue",), auto_advance=False, payment_app="manual"),
    # issued moves on to payment at once
    Row(ISSUED, "advance", PENDING, (), payment_app="manual"),
    Row(ISSUED, "advance", PAID, ("authorize", "settle")),
    # payment events
    Row(PENDING, "payment_authorized", AUTHORIZED, ("authorize",), payment_app="manual"),
    Row(FAILED, "payment_authorized", AUTHORIZED, ("authorize",), payment_app="manual"),
    Row(PENDING, "payment_paid", PAID, ("authorize", "settle"), payment_app="manual"),  # no prior authorization
    Row(AUTHORIZED, "payment_paid", PAID, ("settle",), payment_app="manual"),
    Row(FAILED, "payment_paid", PAID, ("authorize", "settle"), payment_app="manual"),
    Row(PENDING, "payment_failed", FAILED, ("fail",), payment_app="manual"),
    Row(AUTHORIZED, "payment_failed", FAILED, ("fail",), payment_app="manual"),
    Row(PENDING, "payment_uncollectible", UNCOLLECTIBLE, ("mark_uncollectible",), payment_app="manual"),
    Row(FAILED, "payment_uncollectible", UNCOLLECTIBLE, ("mark_uncollectible",), payment_app="manual"),
    # void after issue
    *[Row(s, "void", VOIDED, ("void",), payment_app="manual")
      for s in (ISSUED, PENDING, AUTHORIZED, FAILED, UNCOLLECTIBLE)],
    # delete, or the last live line removed, from any draft
    *[Row(s, t, DELETED, ("delete",)) for s in (WFC, WAA, MAN) for t in ("delete", "last_line_removed")],
]

LISTED = {(row.status, row.trigger) for row in TABLE}
EVERY_PAIR = list(itertools.product([s.value for s in InvoiceStatus], [t.value for t in InvoiceTrigger]))


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r.status}-{r.trigger}-{r.to}")
def test_listed_transitions(row: Row) -> None:
    transition = row.fire()
    assert transition.status == row.to
    assert tuple(transition.steps) == row.steps
    assert (transition.previous, transition.trigger) == (row.status, row.trigger)


@pytest.mark.parametrize(("status", "trigger"), [p for p in EVERY_PAIR if p not in LISTED])
def test_every_unlisted_pair_is_illegal(status: str, trigger: str) -> None:
    assert not can_fire(status, trigger)
    with pytest.raises(IllegalTransitionError) as raised:
        fire(status, trigger, collection_due=True, draft_due=True, force=True, invoice="inv-7")
    assert (raised.value.status, raised.value.trigger) == (status, trigger)
    assert "inv-7" in str(raised.value) and status in str(raised.value)


@pytest.mark.parametrize(("status", "trigger"), sorted(LISTED))
def test_listed_pairs_can_fire(status: str, trigger: str) -> None:
    assert can_fire(status, trigger)


def test_advance_waits_for_collection_unless_forced() -> None:
    with pytest.raises(IllegalTransitionError, match="collection") as raised:
        fire(WFC, "advance", collection_due=False)
    assert raised.value.status == WFC
    # collection_at == now is due (collection_at ≤ now)
    assert fire(WFC, "advance", collection_at=NOW).status == WAA


def test_advance_waits_for_the_draft_period_and_force_does_not_waive_it() -> None:
    with pytest.raises(IllegalTransitionError, match="draft period"):
        fire(WAA, "advance", draft_due=False)
    with pytest.raises(IllegalTransitionError, match="draft period"):
        fire(WAA, "advance", draft_due=False, force=True)
    # a forced collection stops at waiting auto approval while the draft period runs
    assert fire(WFC, "advance", collection_due=False, force=True).status == WAA
    assert fire(WAA, "advance", draft_period_ends_at=NOW).status == PAID


# --- invoice pending lines ----------------------------------------------------------------------


def test_new_invoice_waits_for_collection() -> None:
    transition = initial_status(now=NOW, collection_at=FUTURE, draft_period_ends_at=FUTURE,
                                auto_advance=True, payment_app="auto")
    assert (transition.status, transition.steps, transition.previous) == (WFC, (), None)


@pytest.mark.parametrize(
    ("draft_due", "auto_advance", "payment_app", "status", "steps"),
    [
        (False, True, "auto", WAA, ("collect",)),
        (False, False, "auto", MAN, ("collect",)),
        (True, True, "auto", PAID, ("collect",) + AUTO_PAYMENT),    # draft period P0D, auto app
        (True, True, "manual", PENDING, ("collect", "issue")),
    ],
)
def test_new_invoice_collects_at_once_when_collection_is_due(
        draft_due: bool, auto_advance: bool, payment_app: str, status: str, steps: tuple[str, ...]) -> None:
    transition = initial_status(now=NOW, collection_at=NOW, draft_period_ends_at=PAST if draft_due else FUTURE,
                                auto_advance=auto_advance, payment_app=payment_app)  # type: ignore[arg-type]
    assert (transition.status, tuple(transition.steps)) == (status, steps)


# --- mutability ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [s.value for s in InvoiceStatus])
def test_only_drafts_rest_mutable(status: str) -> None:
    assert is_immutable(status) == (not status.startswith("draft."))


@pytest.mark.parametrize(
    ("status", "immutable"),
    [("draft.created", False), ("draft.collecting", False), ("draft.invalid", False),
     ("draft.sync_failed", False), ("draft.ready_to_issue", False), ("draft.updating", True),
     ("draft.syncing", True), ("delete.in_progress", True), ("issuing.line_finalization", True),
     ("payment_processing.booking_authorized", True), ("overdue", True)],
)
def test_transient_statuses_follow_reconciler_1_1(status: str, immutable: bool) -> None:
    assert is_immutable(status) is immutable
    assert (status in MUTABLE_STATUSES) is not immutable


def test_unknown_statuses_and_triggers_are_validation_errors() -> None:
    with pytest.raises(BillingValidationError, match="gathering"):
        is_immutable("gathering")  # a gathering invoice has no standard status (D-15)
    with pytest.raises(BillingValidationError, match="draft.collecting"):
        fire("draft.collecting", "advance")  # transient: never rests
    with pytest.raises(BillingValidationError, match="overdue"):
        fire(PENDING, "overdue")


def test_times_must_be_aware_and_payment_app_known() -> None:
    with pytest.raises(BillingValidationError, match="now"):
        fire(WFC, "advance", now=dt.datetime(2024, 2, 1))
    with pytest.raises(BillingValidationError, match="collection_at"):
        initial_status(now=NOW, collection_at=dt.datetime(2024, 2, 1), draft_period_ends_at=NOW,
                       auto_advance=True, payment_app="auto")
    with pytest.raises(BillingValidationError, match="payment_app"):
        fire(WAA, "approve", payment_app="stripe")
