"""Logging a dry-run plan (reconciler.md §5.6).

Each entry is logged as ``sync.dry_run.entry`` unless it is expected catch-up work: a ``line_create``
whose subscription billing period contains ``now`` is suppressed (a line without a subscription
reference is always logged). Updates, deletes, group steps, charge steps (one event per charge id
and one per create intent), repairs and issue changes are always logged. The number of suppressed
entries is logged once as ``sync.dry_run.suppressed``. The plan itself is returned unfiltered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from patches.model import ChargeCreate, LineCreate, Plan


def dry_run_entries(plan: Plan, now: dt.datetime) -> tuple[list[dict[str, Any]], int]:
    """The entries to log and the number suppressed."""
    entries: list[dict[str, Any]] = []
    suppressed = 0
    for repair in plan.reference_repairs:
        entries.append({"entry": "reference_repair", "identity": repair.identity, "charge_id": repair.charge_id,
                        "item_id": f"{repair.item_id.old} -> {repair.item_id.new}"})
    for patch in plan.patches:
        for step in patch.steps:
            entry: dict[str, Any] = {"entry": step.kind, "operation": patch.operation.value,
                                     "shape": patch.shape.value, "identity": patch.identity}
            if isinstance(step, LineCreate):
                reference = step.line.subscription
                if reference is not None and reference.billing_period.contains(now):
                    suppressed += 1
                    continue
                entry["service_period"] = str(step.line.service_period)
            elif isinstance(step, ChargeCreate):
                entry["intent"] = step.intent.unique_reference_id
            elif hasattr(step, "charge_id"):
                entry["charge_id"] = step.charge_id
            elif hasattr(step, "group_id"):
                entry["group_id"] = step.group_id
            else:
                entry["invoice_id"] = step.line.invoice_id
                entry["line_id"] = step.line.line_id
            entries.append(entry)
    for update in plan.issue_updates:
        for sign, issues in (("+", update.add), ("-", update.remove)):
            for issue in issues:
                entries.append({"entry": "issue", "change": sign, "invoice_id": update.invoice_id,
                                "severity": issue.severity, "path": issue.path, "message": issue.message})
    return entries, suppressed


def log_dry_run(log: Any, plan: Plan, now: dt.datetime) -> None:
    entries, suppressed = dry_run_entries(plan, now)
    for entry in entries:
        log.info("sync.dry_run.entry", **entry)
    if suppressed:
        log.info("sync.dry_run.suppressed", count=suppressed)
