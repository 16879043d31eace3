"""Naming things without database ids: invoice references and line references (scenario-format §2, §3).

Invoices: the customer's live gathering invoice in the plan currency is ``gathering`` (another
currency's: ``gathering[EUR]``); standard invoices are ``standard[N]`` in creation order (0-based,
deleted ones keep their number); ``latest`` is the newest standard invoice; ``{containing: identity}``
is the invoice holding that live line. Lines: by identity (a split child by its group's identity) or,
for a line made by ``create_line``, by ``manual/<key>`` (the key is kept in the line's metadata).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from billing.invoices import Invoice
from billing.lines import Line
from billing.split_lines import SplitLineGroup
from subsync.scenario.errors import AmbiguousReferenceError, ReferenceNotFoundError
from subsync.scenario.step_args import InvoiceRef

#: Line metadata key holding the scenario key of a line made by ``create_line``.
SCENARIO_LINE_KEY = "subsync.scenario.line_key"
MANUAL_PREFIX = "manual/"


@dataclass(frozen=True)
class Ledger:
    """The customer's invoices as the runner names them, and the identities of split-line groups."""

    invoices: tuple[Invoice, ...]
    names: dict[str, str]
    groups: dict[str, SplitLineGroup]
    currency: str

    def name_of(self, invoice_id: str) -> str:
        return self.names.get(invoice_id, "unknown-invoice")

    def live_gathering(self, currency: str | None = None) -> Invoice | None:
        currency = currency or self.currency
        for invoice in self.invoices:
            if invoice.is_gathering and not invoice.deleted and invoice.currency == currency:
                return invoice
        return None

    def standard(self) -> list[Invoice]:
        return [invoice for invoice in self.invoices if invoice.is_standard]

    def line_identity(self, line: Line) -> str | None:
        """A line's identity; a split child carries its group's."""
        if line.child_unique_reference_id is not None:
            return line.child_unique_reference_id
        if line.split_line_group_id is not None:
            group = self.groups.get(line.split_line_group_id)
            return None if group is None else group.unique_reference_id
        return None

    def line_name(self, line: Line) -> str:
        """How a line is named in references and issue paths: identity, ``manual/<key>`` or its name."""
        identity = self.line_identity(line)
        if identity is not None:
            return identity
        key = line.metadata.get(SCENARIO_LINE_KEY)
        if key is not None:
            return f"{MANUAL_PREFIX}{key}"
        return f"unnamed/{line.name}"

    def line_ref(self, line: Line) -> str | None:
        key = line.metadata.get(SCENARIO_LINE_KEY)
        return f"{MANUAL_PREFIX}{key}" if key is not None else None

    # -- resolution --------------------------------------------------------------------------------

    def resolve(self, ref: InvoiceRef) -> Invoice:
        if ref.kind == "gathering":
            invoice = self.live_gathering()
            if invoice is None:
                raise ReferenceNotFoundError(f"invoice {ref}: the customer has no live gathering invoice in {self.currency}")
            return invoice
        standard = self.standard()
        if ref.kind == "latest":
            if not standard:
                raise ReferenceNotFoundError("invoice latest: the customer has no standard invoice yet")
            return standard[-1]
        if ref.kind == "standard":
            assert ref.index is not None
            if ref.index >= len(standard):
                raise ReferenceNotFoundError(
                    f"invoice {ref}: the customer has {len(standard)} standard invoice(s)"
                )
            return standard[ref.index]
        holding = [
            invoice for invoice in self.invoices
            if not (invoice.is_gathering and invoice.deleted)
            and any(self.line_identity(line) == ref.identity for line in invoice.live_lines())
        ]
        if not holding:
            raise ReferenceNotFoundError(f"invoice {ref}: no invoice holds a live line {ref.identity!r}")
        if len(holding) > 1:
            raise AmbiguousReferenceError(
                f"invoice {ref}: several invoices hold a live line {ref.identity!r}"
                f" ({', '.join(self.name_of(i.id) for i in holding)}); name one of them"
            )
        return holding[0]

    def live_line(self, invoice: Invoice, ref: str) -> Line:
        """The live line ``ref`` (identity or ``manual/<key>``) on ``invoice``."""
        found = [line for line in invoice.live_lines() if ref in (self.line_identity(line), self.line_ref(line))]
        where = self.name_of(invoice.id)
        if not found:
            raise ReferenceNotFoundError(f"line {ref!r}: no live line of that name on invoice {where}")
        if len(found) > 1:
            raise AmbiguousReferenceError(f"line {ref!r}: invoice {where} holds {len(found)} live lines of that name")
        return found[0]


def ledger_of(world) -> Ledger:  # type: ignore[no-untyped-def]
    """Read the customer's invoices (deleted ones too, with lines) and name them."""
    invoices = tuple(world.billing.list_customer_invoices(world.namespace, world.customer_id))
    names: dict[str, str] = {}
    index = 0
    for invoice in invoices:
        if invoice.is_gathering:
            if invoice.deleted:
                names[invoice.id] = "gathering(deleted)"
            elif invoice.currency == world.currency:
                names[invoice.id] = "gathering"
            else:
                names[invoice.id] = f"gathering[{invoice.currency}]"
        else:
            names[invoice.id] = f"standard[{index}]"
            index += 1
    group_ids = {
        line.split_line_group_id
        for invoice in invoices
        for line in invoice.lines or ()
        if line.split_line_group_id is not None
    }
    groups = {gid: world.billing.get_split_line_group(world.namespace, gid) for gid in sorted(group_ids)}
    return Ledger(invoices=invoices, names=names, groups=groups, currency=world.currency)


_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")


def scrub_ids(message: str, world) -> str:  # type: ignore[no-untyped-def]
    """``message`` with database ids replaced by names: invoices by reference, lines by identity or
    ``manual/<key>``, split-line groups by identity; any other id (a row the failed step created and
    the rollback removed) becomes ``<id>``."""
    if not _HEX_ID.search(message):
        return message
    with world.store.unit_of_work(read_only=True):
        ledger = ledger_of(world)
    names: dict[str, str] = dict(ledger.names)
    for invoice in ledger.invoices:
        for line in invoice.lines or ():
            names[line.id] = f"line {ledger.line_name(line)}"
    for group_id, group in ledger.groups.items():
        names[group_id] = f"group {group.unique_reference_id}"
    return _HEX_ID.sub(lambda match: names.get(match.group(0), "<id>"), message)
