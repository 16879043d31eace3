"""What both flat-fee machines share: amounts, rating and booked-at."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.charges.layers import LayeredMachine
from billing.charges.rating import amount_after_proration, rate_flat_fee
from billing.charges.runs import Run
from billing.ids import new_id
from billing.rating import Totals


class FlatFeeMachineBase(LayeredMachine):
    # -- amounts -----------------------------------------------------------------------------------
    @property
    def precision(self) -> int:
        return self.ctx.precision(self.charge.currency)

    @property
    def amount(self) -> Decimal:
        value = self.charge.state.get("amount_after_proration")
        return Decimal(str(value)) if value is not None else self.computed_amount()

    def computed_amount(self) -> Decimal:
        return amount_after_proration(self.charge.effective, self.precision)

    def recompute_amount(self) -> Decimal:
        amount = self.computed_amount()
        self.set_state(amount_after_proration=format(amount, "f"))
        return amount

    def rated(self) -> Totals:
        return rate_flat_fee(self.charge.effective, self.amount, self.precision)

    def booked_at(self) -> dt.datetime:
        intent = self.charge.effective
        period = intent.service_period
        return period.end if intent.payment_term == "in_arrears" else period.start

    def new_run(self, **fields) -> Run:  # type: ignore[no-untyped-def]
        intent = self.charge.effective
        return Run(id=new_id(), type="final_realization", initial_type="final_realization",
                   service_period=intent.service_period, amount_after_proration=self.amount, created_at=self.now,
                   **fields)

    # -- guards ------------------------------------------------------------------------------------
    def invoice_at_reached(self, **_: object) -> bool:
        return self.now >= self.charge.effective.invoice_at
