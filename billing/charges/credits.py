"""The credit allocation primitive of flat-fee and usage-based runs (charges.md §3.3).

``reconcile(run, target, exact)`` makes the run's net allocations equal ``round(target)``: a positive
difference is consumed from the ledger (each slice one allocation), a negative one is corrected LIFO
across the run's allocations (each piece one correction referencing its allocation). Afterwards the
net allocations never exceed ``target``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.charges.context import ChargeContext
from billing.charges.errors import ChargeValidationError
from billing.charges.ledger_port import ConsumeMode, CorrectionRequest, RunReference
from billing.charges.runs import CreditRealization, Run
from billing.ids import new_id
from billing.money import exact_arithmetic, round_money

ZERO = Decimal(0)


def run_reference(charge, run: Run) -> RunReference:  # type: ignore[no-untyped-def]
    return RunReference(
        namespace=charge.namespace, customer_id=charge.customer_id, charge_id=charge.id, run_id=run.id,
        currency=charge.currency, service_period=run.service_period, line_id=run.line_id, invoice_id=run.invoice_id,
    )


def reconcile(
    ctx: ChargeContext,
    charge,  # type: ignore[no-untyped-def]
    run: Run,
    target: Decimal,
    *,
    exact: bool,
    booked_at: dt.datetime,
    source_as_of: dt.datetime,
    mode: ConsumeMode,
) -> Run:
    """Return ``run`` with allocations or corrections appended so that its net allocations = target."""
    precision = ctx.precision(charge.currency)
    target = round_money(target, precision)
    with exact_arithmetic():
        delta = target - run.net_allocations
    if delta > 0:
        return _allocate(ctx, charge, run, delta, exact=exact, booked_at=booked_at, source_as_of=source_as_of,
                         mode=mode)
    if delta < 0:
        return _correct(ctx, charge, run, -delta, booked_at=booked_at)
    return run


def correct_all(ctx: ChargeContext, charge, run: Run, *, booked_at: dt.datetime) -> Run:  # type: ignore[no-untyped-def]
    net = run.net_allocations
    return _correct(ctx, charge, run, net, booked_at=booked_at) if net > 0 else run


def _next_hint(run: Run) -> int:
    return max((c.sort_hint for c in run.credit_realizations), default=-1) + 1


def _allocate(ctx, charge, run: Run, delta: Decimal, *, exact, booked_at, source_as_of, mode) -> Run:  # type: ignore[no-untyped-def]
    consumption = ctx.ledger.consume(
        run=run_reference(charge, run), amount=delta, feature_key=charge.feature_key or None,
        booked_at=booked_at, source_as_of=source_as_of, mode=mode,
    )
    if not consumption.transaction_group_id:
        raise ChargeValidationError(f"charge {charge.id}: the ledger returned an empty transaction group id",
                                    charge_id=charge.id)
    with exact_arithmetic():
        taken = sum((s.amount for s in consumption.slices), ZERO)
    if taken > delta or any(s.amount <= 0 for s in consumption.slices):
        raise ChargeValidationError(
            f"charge {charge.id}, run {run.id}: the ledger returned slices of {taken} for a request of {delta}",
            charge_id=charge.id, code="credit_allocations_do_not_match_total")
    if exact and taken != delta:
        raise ChargeValidationError(
            f"charge {charge.id}, run {run.id}: credit allocations {taken} do not match the total {delta}",
            charge_id=charge.id, code="credit_allocations_do_not_match_total")
    hint = _next_hint(run)
    added = tuple(
        CreditRealization(
            id=new_id(), type="allocation", amount=s.amount, service_period=run.service_period,
            ledger_transaction_group_id=consumption.transaction_group_id, source_id=s.source_id,
            line_id=run.line_id, sort_hint=hint + index,
        )
        for index, s in enumerate(consumption.slices)
    )
    return run.model_copy(update={"credit_realizations": run.credit_realizations + added})


def _correct(ctx, charge, run: Run, amount: Decimal, *, booked_at) -> Run:  # type: ignore[no-untyped-def]
    requests: list[CorrectionRequest] = []
    remaining = amount
    with exact_arithmetic():
        for allocation, left in run.uncorrected():
            if remaining <= 0:
                break
            piece = min(left, remaining)
            requests.append(CorrectionRequest(
                allocation_id=allocation.id, source_id=allocation.source_id, amount=piece,
                allocation_transaction_group_id=allocation.ledger_transaction_group_id))
            remaining -= piece
    if remaining > 0:
        raise ChargeValidationError(
            f"charge {charge.id}, run {run.id}: cannot correct {amount}; only {amount - remaining} is allocated",
            charge_id=charge.id, code="credit_allocations_do_not_match_total")
    group = ctx.ledger.correct(run=run_reference(charge, run), corrections=requests, booked_at=booked_at)
    if not group:
        raise ChargeValidationError(f"charge {charge.id}: the ledger returned an empty transaction group id",
                                    charge_id=charge.id)
    hint = _next_hint(run)
    added = tuple(
        CreditRealization(
            id=new_id(), type="correction", amount=-r.amount, service_period=run.service_period,
            ledger_transaction_group_id=group, source_id=r.source_id, line_id=run.line_id,
            corrects_id=r.allocation_id, sort_hint=hint + index,
        )
        for index, r in enumerate(requests)
    )
    return run.model_copy(update={"credit_realizations": run.credit_realizations + added})
