"""The period check of the loader (reconciler.md §2.3 step 5, DIVERGES D-14).

A persisted period whose end is before its start raises ``InvalidPeriodError``; an empty period
(``end == start``) is valid data. Lines and hierarchies are checked after normalisation, charges on
their base intent (service, full service and billing period) when they are wrapped.
"""

from __future__ import annotations

from billing.charges.models import FlatFeeCharge, UsageBasedCharge
from billing.lines import Line
from billing.period import Period
from billing.split_lines import SplitLineHierarchy
from persistedstate.context import LoadContext
from persistedstate.errors import InvalidPeriodError


def check_period(period: Period, *, field: str, owner: str, identity: str | None, context: LoadContext) -> None:
    if period.end < period.start:
        raise InvalidPeriodError(
            f"{owner}: {field} ends before it starts {period}",
            field=field,
            period=period,
            **context.error_context(identity),
        )


def check_line_periods(line: Line, *, context: LoadContext, identity: str | None, owner: str | None = None) -> None:
    owner = owner or f"invoice line {line.id}"
    check_period(line.service_period, field="service_period", owner=owner, identity=identity, context=context)
    if line.subscription is not None:
        check_period(
            line.subscription.billing_period,
            field="subscription.billing_period",
            owner=owner,
            identity=identity,
            context=context,
        )


def check_hierarchy_periods(hierarchy: SplitLineHierarchy, *, context: LoadContext) -> None:
    """The group's period, then every child's; a child's error names the group's identity."""
    group = hierarchy.group
    identity = group.unique_reference_id
    check_period(
        group.service_period, field="service_period", owner=f"split-line group {group.id}", identity=identity,
        context=context,
    )
    for child in hierarchy.children:
        check_line_periods(
            child.line, context=context, identity=identity,
            owner=f"split-line group {group.id} child line {child.line.id}",
        )


def check_charge_periods(charge: FlatFeeCharge | UsageBasedCharge, *, context: LoadContext) -> None:
    owner = f"{charge.type} charge {charge.id}"
    for field in ("service_period", "full_service_period", "billing_period"):
        check_period(
            getattr(charge.base, field), field=f"base.{field}", owner=owner, identity=charge.unique_reference_id,
            context=context,
        )
