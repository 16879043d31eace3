"""reconciler: the pure planner (reconciler.md §3).

``plan(inputs, quantities) -> Plan`` compares the persisted state of one subscription with its target
state and returns the typed patches that reconcile them; ``required_probes(inputs)`` lists the usage
quantities the plan will read, and ``plan_probing(inputs, evaluate)`` does both in one pass when no
quantity is needed. Settings live in ``reconciler.settings``.
"""

from reconciler.inputs import PlanInputs, SubscriptionFacts
from reconciler.planner import diff_item, plan, plan_probing, required_probes
from reconciler.probes import QuantityProbe
from reconciler.settings import CreditResolution, SyncSettings, resolve_credits

__all__ = [
    "CreditResolution",
    "PlanInputs",
    "QuantityProbe",
    "SubscriptionFacts",
    "SyncSettings",
    "diff_item",
    "plan",
    "plan_probing",
    "required_probes",
    "resolve_credits",
]
