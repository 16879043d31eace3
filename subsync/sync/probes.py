"""Evaluating quantity probes with billing's line engine (reconciler.md §3.10, §8.3).

A probe asks what a usage line on an immutable invoice would meter over another period. The sync
service answers it by running the line engine's quantity snapshot on a *copy* of the stored line that
carries the probe's period; nothing is written. A line the engine cannot meter (no meter for its
feature) keeps its current quantity, so it never shows a quantity drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from billing.invoices import Invoice
from billing.lines import StandardLine
from patches.errors import PlanInvariantError


class ProbeReadPort(Protocol):
    def get_invoice(self, namespace: str, invoice_id: str, *, include_deleted_lines: bool = True) -> Invoice: ...


class LineEngine(Protocol):
    def snapshot_line_quantity(self, invoice: Invoice, line: StandardLine) -> StandardLine: ...


def evaluate_probes(
    probes: Iterable[Any], *, namespace: str, billing: ProbeReadPort, line_engine: LineEngine,
    context: dict[str, str | None],
) -> dict[Any, Decimal]:
    """The quantity of every probe (``invoice_id``, ``line_id``, ``period``)."""
    invoices: dict[str, Invoice] = {}
    quantities: dict[Any, Decimal] = {}
    for probe in sorted(probes, key=lambda p: (p.invoice_id, p.line_id, p.period.start, p.period.end)):
        invoice = invoices.get(probe.invoice_id)
        if invoice is None:
            invoice = invoices[probe.invoice_id] = billing.get_invoice(namespace, probe.invoice_id,
                                                                       include_deleted_lines=True)
        line = next((line for line in invoice.lines or () if line.id == probe.line_id), None)
        if line is None:
            raise PlanInvariantError(f"quantity probe: line {probe.line_id} is not on invoice {probe.invoice_id}",
                                     **context)
        copy = StandardLine.model_validate({**dict(line), "service_period": probe.period})
        metered = line_engine.snapshot_line_quantity(invoice, copy).quantity
        quantities[probe] = metered if metered is not None else Decimal(0)
    return quantities
