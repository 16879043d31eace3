"""Quantity snapshots and rating of stored lines; invoice totals.

- A usage line's quantity is the meter's aggregation over its service period (billing.md §2); the
  meter is the one named by the line's ``feature_key``. A line without a known meter keeps its quantity.
- Standard lines are rated with ``billing.rating``; split children cumulatively over their group's
  period. Gathering lines are rated when their quantity is known (flat fees always), else total 0.
- An invoice's totals are the sums over its live lines.
"""

from __future__ import annotations

from decimal import Decimal

from billing.lines import ZERO_TOTALS
from billing.metering import aggregate
from billing.money import currency_precision
from billing.period import Period
from billing.prices import FlatPrice
from billing.rating import Totals, rate, rate_split_child
from billing.store.mapping import PRICE, group_of, set_totals, totals_of
from billing.store.tables import InvoiceRow, LineRow
from billing.store.unit_of_work import UnitOfWork


def precision_of(uow: UnitOfWork, currency: str) -> int:
    return currency_precision(currency, custom=uow.custom_currencies)


def metered_usage(
    uow: UnitOfWork, namespace: str, customer_id: str, feature_key: str | None, price_type: str, period: Period
) -> Decimal | None:
    """Usage of the meter named by ``feature_key`` over ``period``; None for flat fees and unmetered lines."""
    if feature_key is None or price_type == "flat":
        return None
    meter = uow.usage.meter(namespace, feature_key)
    if meter is None:
        return None
    events = uow.usage.events(namespace, customer_id, meter.key, period.start, period.end)
    return aggregate(meter.aggregation, events, period.start, period.end)


def metered_quantity(uow: UnitOfWork, line: LineRow, period: Period) -> Decimal | None:
    return metered_usage(uow, line.namespace, line.customer_id, line.feature_key, line.price_type, period)


def snapshot_quantity(uow: UnitOfWork, line: LineRow) -> None:
    """Set a usage line's quantity from its meter for its service period (no-op without a meter)."""
    period = Period(start=line.service_period_start, end=line.service_period_end)
    if period.is_inverted:
        return
    quantity = metered_quantity(uow, line, period)
    if quantity is not None:
        line.quantity = quantity


def _discounts(line: LineRow):  # type: ignore[no-untyped-def]
    from billing.prices import Discounts

    return None if line.rate_card_discounts is None else Discounts.model_validate(line.rate_card_discounts)


def rate_line(uow: UnitOfWork, line: LineRow, *, standard: bool) -> Totals:
    price = PRICE.validate_python(line.price)
    precision = precision_of(uow, line.currency)
    discounts = _discounts(line)
    if isinstance(price, FlatPrice):
        return rate(price, line.quantity if line.quantity is not None else Decimal(1),
                    per_unit_amount=line.per_unit_amount, discounts=discounts, precision=precision)
    if line.quantity is None:
        return ZERO_TOTALS
    if standard and line.split_line_group_id is not None:
        group_row = uow.groups.row(line.namespace, line.split_line_group_id)
        if group_row is not None:
            return _rate_child(uow, line, group_row, price, discounts, precision)
    return rate(price, line.quantity, discounts=discounts, precision=precision)


def _rate_child(uow, line, group_row, price, discounts, precision) -> Totals:  # type: ignore[no-untyped-def]
    group = group_of(group_row)
    start, end = line.service_period_start, line.service_period_end
    before = Decimal(0)
    if start > group.service_period.start:
        before = metered_quantity(uow, line, Period(start=group.service_period.start, end=start)) or Decimal(0)
    through = before + line.quantity
    return rate_split_child(
        price,
        quantity_before=before,
        quantity_through=through,
        is_last_child=end == group.service_period.end,
        is_first_child=start <= group.service_period.start,
        discounts=discounts,
        precision=precision,
    )


class _InvoiceSum:
    """Component-wise sums of line totals, written to the invoice row at the end."""

    def __init__(self, start: tuple[Decimal | None, ...] = (None,) * 5) -> None:
        self.parts = [Decimal(0) if value is None else value for value in start]  # None: a new, unflushed row

    def add(self, totals: Totals) -> None:
        for index, value in enumerate((totals.amount, totals.discounts, totals.credits, totals.taxes, totals.total)):
            self.parts[index] += value

    def write(self, uow: UnitOfWork, invoice: InvoiceRow) -> None:
        amount, discounts, credits, taxes, total = self.parts
        new = Totals(amount=amount, discounts=discounts, credits=credits, taxes=taxes, total=total)
        if new != totals_of(invoice):
            set_totals(invoice, new)
        invoice.updated_at = uow.now


def rate_appended_gathering_lines(uow: UnitOfWork, invoice: InvoiceRow, rows: list[LineRow]) -> None:
    """Rate lines just added to a gathering invoice and add their totals to the invoice's.

    What ``recalculate`` would do, without rereading and rerating the lines already there: a gathering
    line is rated on its own (no split children, no snapshot), and every write to an invoice leaves its
    totals equal to the sum over its live lines, so the old lines' part of the totals is unchanged."""
    if invoice.kind != "gathering":
        raise ValueError(f"invoice {invoice.id!r} is {invoice.kind}: only gathering lines are rated incrementally")
    total = _InvoiceSum((invoice.amount, invoice.discounts, invoice.credits, invoice.taxes, invoice.total))
    for line in rows:
        line_totals = rate_line(uow, line, standard=False)
        if line_totals != totals_of(line):
            set_totals(line, line_totals)
        total.add(line_totals)
    total.write(uow, invoice)


def recalculate(uow: UnitOfWork, invoice: InvoiceRow, *, snapshot: bool = False) -> None:
    """Rerate every live line of ``invoice`` (re-snapshotting metered usage first when asked) and total it."""
    standard = invoice.kind == "standard"
    total = _InvoiceSum()
    for line in uow.invoices.line_rows(invoice.id, include_deleted=False):
        if standard and line.charge_id is not None and line.engine != "invoicing":
            # A charge engine owns the quantity and totals (credits included) of its standard lines.
            total.add(totals_of(line))
            continue
        if snapshot and standard and line.managed_by != "manual":
            snapshot_quantity(uow, line)
        line_totals = rate_line(uow, line, standard=standard)
        if line_totals != totals_of(line):
            set_totals(line, line_totals)
            line.updated_at = uow.now
        total.add(line_totals)
    total.write(uow, invoice)
