"""The input of ``charges.apply_patches`` (reconciler.md §5.3, §5.4).

The charges backend is a later issue; the applier already hands it one value per plan: the customer,
the new intents in plan order, and the delete / shrink / extend steps keyed by charge id (in charge-id
order).
"""

from __future__ import annotations

from collections.abc import Mapping

from patches.model import ChargeDelete, ChargeExtend, ChargeIntent, ChargeShrink, Value

ChargePatchStep = ChargeDelete | ChargeShrink | ChargeExtend


class ChargePatchInput(Value):
    customer_id: str
    creates: tuple[ChargeIntent, ...] = ()
    patches_by_charge_id: Mapping[str, ChargePatchStep] = {}
