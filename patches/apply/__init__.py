"""The applier (reconciler.md §5): ``apply_plan(plan, ports)`` executes a plan through the ports.

1. Validate: the plan's customer id is set and its currency is a fiat ISO 4217 code.
2. An empty plan does nothing.
3. Group the steps into units, order them (``patches.apply.units``) and run each (``execute``).

It runs inside the caller's locked transaction and never decides what to change; any error
propagates so that the caller rolls the whole transaction back (a plan is applied completely or not
at all). A dry run never calls it.
"""

from __future__ import annotations

import structlog

from billing.money import is_fiat
from patches.apply.charges import ChargePatchInput
from patches.apply.execute import UnitExecutor, invoice_class
from patches.apply.line_changes import apply_line_changes
from patches.apply.ports import ApplyPorts, BillingApplyPort, ChargesApplyPort, LineEnginePort
from patches.apply.units import Stage, Unit, apply_graph, apply_order, build_units, ordered_units, sort_units
from patches.errors import ApplyError
from patches.model import Plan

log = structlog.get_logger(__name__)


def apply_plan(plan: Plan, ports: ApplyPorts) -> None:
    context = {"namespace": plan.namespace, "subscription_id": plan.subscription_id, "customer_id": plan.customer_id}
    if not plan.customer_id:
        raise ApplyError("the plan has no customer id", **context)
    if not is_fiat(plan.currency):
        raise ApplyError(f"the plan's currency {plan.currency!r} is not a fiat currency", **context)
    if plan.is_empty:
        return
    units = ordered_units(plan)
    executor = UnitExecutor(plan, ports)
    log.info("apply.start", units=[unit.name for unit in units], **context)
    for unit in units:
        executor.run(unit)
    log.info("apply.done", units=len(units), **context)


__all__ = [
    "ApplyPorts",
    "BillingApplyPort",
    "ChargePatchInput",
    "ChargesApplyPort",
    "LineEnginePort",
    "Stage",
    "Unit",
    "apply_graph",
    "apply_line_changes",
    "apply_order",
    "apply_plan",
    "build_units",
    "invoice_class",
    "ordered_units",
    "sort_units",
]
