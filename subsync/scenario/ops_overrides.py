"""The customer charge API of a scenario: ``set_override`` and ``clear_override`` (scenario-format §2,
charges.md §1.3, §7.7).

``charge`` names a flat-fee or usage-based charge by its identity, or ``manual/<key>`` for the charge
behind a ``create_line`` line; a live charge wins over deleted ones. ``set`` holds the override's fields
under the STATE's names (``service_period``, ``full_service_period``, ``billing_period`` as ``[from,
to]``, ``invoice_at``, ``name``, ``payment_term``, ``amount_before_proration``, ``discounts`` (flat fees:
the percentage discounts), ``price``, …); the override is the charge's effective intent with them set.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from billing.charges.models import FlatFeeCharge, UsageBasedCharge
from subsync.scenario.errors import (
    AmbiguousReferenceError,
    CreditsBackendRequiredError,
    ReferenceNotFoundError,
    ScenarioError,
)
from subsync.scenario.outcome import Outcome
from subsync.scenario.state import manual_charge_ref as manual_ref
from subsync.scenario.steps import ClearOverrideStep, SetOverrideStep, StepBase
from subsync.sync.charges_stack import charges_stack

_PERIODS = ("service_period", "full_service_period", "billing_period")


def _charges_service(world, step: StepBase):  # type: ignore[no-untyped-def]
    if not world.settings.credits:
        raise CreditsBackendRequiredError(step.do)  # type: ignore[attr-defined]
    return charges_stack(world.store).charges


def _find(world, service, ref: str) -> FlatFeeCharge | UsageBasedCharge:  # type: ignore[no-untyped-def]
    found = [
        charge for charge in service.list_customer_charges(world.namespace, world.customer_id, include_deleted=True)
        if isinstance(charge, (FlatFeeCharge, UsageBasedCharge))
        and ref in (charge.unique_reference_id, manual_ref(charge))
    ]
    live = [charge for charge in found if charge.deleted_at is None]
    candidates = live or found
    if not candidates:
        raise ReferenceNotFoundError(f"charge {ref!r}: the customer has no flat-fee or usage charge of that name")
    if len(candidates) > 1:
        raise AmbiguousReferenceError(f"charge {ref!r}: {len(candidates)} charges carry that name")
    return candidates[0]


def _override(charge: FlatFeeCharge | UsageBasedCharge, fields: dict[str, Any]) -> Any:
    data = charge.effective.model_dump()
    for name, value in fields.items():
        if name in _PERIODS and isinstance(value, (list, tuple)) and len(value) == 2:
            value = {"start": value[0], "end": value[1]}
        if name == "discounts" and isinstance(charge, FlatFeeCharge):
            name = "percentage_discounts"
        if name not in data:
            raise ScenarioError(f"set_override {charge.unique_reference_id or manual_ref(charge)!r}: {name!r} is not"
                                f" a field of a {charge.type} intent")
        data[name] = value
    try:
        return type(charge.effective).model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"set_override: {exc.errors(include_url=False)[0]['msg']}"
                            f" ({'.'.join(str(p) for p in exc.errors()[0]['loc'])})") from None


def set_override(world, step: SetOverrideStep) -> Outcome:  # type: ignore[no-untyped-def]
    service = _charges_service(world, step)
    charge = _find(world, service, step.charge)
    service.set_override(world.namespace, world.customer_id, charge.id, _override(charge, step.set))
    return Outcome()


def clear_override(world, step: ClearOverrideStep) -> Outcome:  # type: ignore[no-untyped-def]
    service = _charges_service(world, step)
    charge = _find(world, service, step.charge)
    service.clear_override(world.namespace, world.customer_id, charge.id)
    return Outcome()
