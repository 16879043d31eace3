"""Progressive billing: splitting a usage gathering line at ``split_at`` (reconciler §1.3).

A usage charge's gathering line splits too, but without a group (``split_charge_line``).

The line's row becomes the pre-split child ``[start, split_at)`` with ``invoice_at = split_at`` (the
part invoiced now); a new row on the same gathering invoice is the post-split child
``[split_at, end)``. Both get the group's id and no identity. The group is created once, carrying the
line's full period and identity; a line that already is a child joins its existing group. An empty
pre-split child is soft-deleted.
"""

from __future__ import annotations

import datetime as dt

import structlog

from billing.lines import LineContent
from billing.period import Period
from billing.split_lines import NewSplitLineGroup
from billing.store.mapping import PRICE, line_of, write_line_content
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


#: Charge-managed lines that split progressively (usage charges; a flat price never splits).
SPLITTABLE_CHARGE_ENGINES = frozenset({"charge_usagebased"})


def can_split(line: LineRow, as_of: dt.datetime) -> bool:
    """A live usage line whose period contains ``as_of`` strictly after its start: a plain line, or the
    gathering line of a usage charge (split without a group, ``split_charge_line``)."""
    return (
        line.deleted_at is None
        and line.price_type != "flat"
        and (line.charge_id is None or line.engine in SPLITTABLE_CHARGE_ENGINES)
        and line.service_period_start < as_of < line.service_period_end
    )


def split_charge_line(uow: UnitOfWork, invoice: InvoiceRow, line: LineRow, split_at: dt.datetime) -> LineRow:
    """A usage charge's gathering line cut at ``split_at`` (charges.md §4.4, §7.6): the row becomes the
    part invoiced now (``[start, split_at)``, invoiced at ``split_at``; the charge starts a partial run
    for it) and a new row on the gathering invoice keeps the unbilled tail with the charge's identity,
    charge id, engine and ``invoice_at``. Charge lines never get a split-line group: the charge owns its
    tail and keeps it in step with the subscription."""
    content = LineContent.model_validate(line_of(line, "gathering").model_dump(include=set(LineContent.model_fields)))
    tail = content.model_copy(update={"service_period": Period(start=split_at, end=content.service_period.end),
                                      "quantity": None})
    pre = content.model_copy(update={"service_period": Period(start=content.service_period.start, end=split_at),
                                     "invoice_at": split_at})
    write_line_content(line, pre)
    line.updated_at = uow.now
    uow.flush()
    uow.lines.insert(invoice, tail, uow.now)
    log.info("billing.charge_line.split", line_id=line.id, charge_id=line.charge_id, split_at=split_at.isoformat())
    return line


def split_line(uow: UnitOfWork, invoice: InvoiceRow, line: LineRow, split_at: dt.datetime) -> LineRow | None:
    """Split ``line`` at ``split_at``; return the pre-split row when it is non-empty, else None."""
    if line.charge_id is not None:
        return split_charge_line(uow, invoice, line, split_at)
    content = LineContent.model_validate(line_of(line, "gathering").model_dump(include=set(LineContent.model_fields)))
    group_id = line.split_line_group_id
    if group_id is None:
        group = uow.groups.insert(
            line.namespace,
            NewSplitLineGroup(
                customer_id=line.customer_id,
                currency=line.currency,
                service_period=content.service_period,
                unique_reference_id=content.child_unique_reference_id,
                price=PRICE.validate_python(line.price),
                feature_key=content.feature_key,
                subscription=content.subscription,
                name=content.name,
                description=content.description,
                metadata=dict(content.metadata),
                rate_card_discounts=content.rate_card_discounts,
            ),
            uow.now,
        )
        group_id = group.id
    post = content.model_copy(
        update={
            "service_period": Period(start=split_at, end=content.service_period.end),
            "child_unique_reference_id": None,
            "split_line_group_id": group_id,
            "quantity": None,
        }
    )
    pre = content.model_copy(
        update={
            "service_period": Period(start=content.service_period.start, end=split_at),
            "invoice_at": split_at,
            "child_unique_reference_id": None,
            "split_line_group_id": group_id,
        }
    )
    write_line_content(line, pre)
    line.updated_at = uow.now
    uow.flush()
    uow.lines.insert(invoice, post, uow.now)
    log.info("billing.line.split", line_id=line.id, group_id=group_id, split_at=split_at.isoformat())
    if pre.service_period.is_empty:
        line.deleted_at = uow.now
        return None
    return line
