"""What both usage machines share: metering, cumulative rating of runs, voiding runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.charges.context import INTERNAL_COLLECTION_PERIOD
from billing.charges.credits import correct_all
from billing.charges.errors import ChargeValidationError
from billing.charges.layers import LayeredMachine
from billing.charges.rating import billed_before, rate_usage_cumulative, usage_run_totals
from billing.charges.runs import Run
from billing.ids import new_id
from billing.metering import aggregate
from billing.period import Period

ZERO = Decimal(0)


class UsageMachineBase(LayeredMachine):
    @property
    def precision(self) -> int:
        return self.ctx.precision(self.charge.currency)

    @property
    def period(self) -> Period:
        return self.charge.effective.service_period

    def from_reached(self, **_: Any) -> bool:
        return self.now >= self.period.start

    def to_reached(self, **_: Any) -> bool:
        return self.now >= self.period.end

    def metered(self, boundary: dt.datetime) -> Decimal:
        """The cumulative quantity from the charge's service start to ``boundary`` (exclusive)."""
        uow, charge = self.ctx.uow, self.charge
        meter = uow.usage.meter(charge.namespace, charge.feature_key)
        if meter is None:
            raise ChargeValidationError(f"charge {charge.id}: feature {charge.feature_key!r} has no meter",
                                        charge_id=charge.id, field="feature_key")
        start = self.period.start
        events = uow.usage.events(charge.namespace, charge.customer_id, meter.key, start, boundary)
        return aggregate(meter.aggregation, events, start, boundary)

    def stored_at_lt(self, boundary: dt.datetime) -> dt.datetime:
        return self.ctx.after_collection_interval(self.charge.namespace, self.charge.customer_id, boundary)

    def collection_done_at(self, run: Run) -> dt.datetime:
        assert run.stored_at_lt is not None
        return run.stored_at_lt + INTERNAL_COLLECTION_PERIOD

    def live_runs(self) -> list[Run]:
        return [run for run in self.ordered_runs() if not run.voided]

    def latest_run(self) -> Run | None:
        runs = self.live_runs()
        return runs[-1] if runs else None

    def new_run(self, end: dt.datetime, *, final: bool, **fields: Any) -> Run:
        latest = self.latest_run()
        start = latest.service_period.end if latest is not None else self.period.start
        kind = "final_realization" if final else "partial_invoice"
        return Run(id=new_id(), type=kind, initial_type=kind, service_period=Period(start=min(start, end), end=end),
                   stored_at_lt=self.stored_at_lt(end), created_at=self.now, **fields)

    def rerate(self, run: Run) -> Run:
        """The run's cumulative quantity and its share of the cumulative rating (credits kept)."""
        quantity = self.metered(run.service_period.end)
        cumulative = rate_usage_cumulative(self.charge.effective, quantity, final=run.type == "final_realization",
                                           precision=self.precision)
        totals = usage_run_totals(cumulative, billed_before(self.live_runs(), run.id), charge_id=self.charge.id,
                                  precision=self.precision)
        return run.model_copy(update={"metered_quantity": quantity, "totals": totals})

    def with_credit_totals(self, run: Run) -> Run:
        totals = run.totals.with_credits(run.net_allocations, precision=self.precision)
        return run.model_copy(update={"totals": totals, "no_fiat_transaction_required": totals.total == 0})

    def line_quantity(self, run: Run) -> Decimal:
        """The run's own quantity: its cumulative quantity minus the previous live run's."""
        previous = [r for r in self.live_runs() if r.id != run.id and r.service_period.end <= run.service_period.start]
        before = previous[-1].metered_quantity if previous and previous[-1].metered_quantity is not None else ZERO
        return (run.metered_quantity or ZERO) - before

    def void_all_runs(self) -> None:
        """Correct every live run's credits and mark it deleted (the charge is realized again)."""
        for run in self.live_runs():
            run = correct_all(self.ctx, self.charge, run, booked_at=self.now)
            self.put_run(run.model_copy(update={"deleted_at": self.now}))
        self.set_state(current_run_id=None)
