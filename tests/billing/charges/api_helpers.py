"""Helpers of the API-operation tests (charges.md §3.6, §4.5): reading a charge's lines and runs."""

from __future__ import annotations

from billing.charges.runs import Run, runs_of
from billing.lines import Line
from tests.billing.charges.conftest import CUSTOMER, NS


def invoices(billing_service, kind: str | None = None):  # type: ignore[no-untyped-def]
    return [invoice for invoice in billing_service.list_customer_invoices(NS, CUSTOMER)
            if kind is None or invoice.kind == kind]


def lines_of(billing_service, charge_id: str, *, kind: str | None = None, live: bool = True) -> list[Line]:  # type: ignore[no-untyped-def]
    return [line for invoice in invoices(billing_service, kind) for line in invoice.lines or ()
            if line.charge_id == charge_id and (not live or line.deleted_at is None)]


def gathering_line(billing_service, charge_id: str) -> Line:  # type: ignore[no-untyped-def]
    (line,) = lines_of(billing_service, charge_id, kind="gathering")
    return line


def line(billing_service, line_id: str) -> Line:  # type: ignore[no-untyped-def]
    return next(line for invoice in invoices(billing_service) for line in invoice.lines or () if line.id == line_id)


def runs(charges, charge_id: str) -> list[Run]:  # type: ignore[no-untyped-def]
    return runs_of(charges.get_charge(NS, charge_id).realizations)
