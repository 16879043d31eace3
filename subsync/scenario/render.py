"""Output of a scenario run: the JSON document (scenario-format §3) and a readable text report.

The text shows, per step, the step line (index, clock, operation and its arguments, ok / FAILED), the
error if the step failed, the plan diff of sync steps, a compact table of invoices and their lines,
the sync state, and every failed expectation as expected vs actual.
"""

from __future__ import annotations

import json
from typing import Any

from subsync.scenario.runner import ScenarioResult, StepResult

INDENT = "    "


def render_json(result: ScenarioResult) -> str:
    return json.dumps(result.document(), indent=2, ensure_ascii=False)


def render_text(result: ScenarioResult) -> str:
    out = [f"scenario: {result.name} ({result.file})"]
    for step in result.steps:
        out += _step(step)
    failed = len(result.failures)
    out.append(f"result: {'ok' if not failed else 'FAILED'} — {result.passed} check(s) passed, {failed} failed")
    return "\n".join(out)


def _step(step: StepResult) -> list[str]:
    state = step.state
    verdict = "ok" if step.ok else f"FAILED ({len(step.failures)})"
    args = step.step.model_dump(mode="json", exclude={"at", "expect", "do", "description"}, exclude_unset=True)
    for key in ("invoice",):
        if key in args:
            args[key] = str(getattr(step.step, key))
    out = [f"[{step.index}] {state['at']} {state['do']}{_args(args)} … {verdict}"]
    if state["error"] is not None:
        out.append(f"{INDENT}error: {state['error']['type']}: {state['error']['message']}")
    if state["plan"] is not None:
        out.append(f"{INDENT}plan:")
        out += [f"{INDENT * 2}{line}" for line in state["plan"].splitlines()]
    elif state["do"] in ("sync", "sync_and_invoice") and state["error"] is None:
        out.append(f"{INDENT}plan: (nothing to do)")
    out += _invoices(state["invoices"])
    sync_state = state["sync_state"]
    if sync_state is not None:
        out.append(
            f"{INDENT}sync state: has_billables={str(sync_state['has_billables']).lower()}"
            f" synced_at={sync_state['synced_at']} next_sync_after={sync_state['next_sync_after'] or 'null'}"
        )
    if state["charges"]:
        out.append(f"{INDENT}charges:")
        out += [
            f"{INDENT * 2}{c['identity'] or c['ref']} {c['type']} {c['status']} {_period(c['service_period'])}"
            f"{' (deleted)' if c['deleted'] else ''}"
            for c in state["charges"]
        ]
    for failure in step.failures:
        out.append(f"{INDENT}expectation failed: {failure.path}")
        out.append(f"{INDENT * 2}expected: {_value(failure.expected)}")
        out.append(f"{INDENT * 2}actual:   {_value(failure.actual)}")
    return out


def _invoices(invoices: list[dict[str, Any]]) -> list[str]:
    if not invoices:
        return [f"{INDENT}invoices: none"]
    out = [f"{INDENT}invoices:"]
    for invoice in invoices:
        live = [line for line in invoice["lines"] if not line["deleted"]]
        out.append(
            f"{INDENT * 2}{invoice['ref']} {invoice['status']} {invoice['currency']} total {invoice['totals']['total']}"
            f" ({len(live)} live line(s), {len(invoice['lines']) - len(live)} deleted)"
        )
        for issue in invoice["validation_issues"]:
            out.append(f"{INDENT * 3}! {issue['severity']} {issue['path']}: {issue['message']}")
        for line in invoice["lines"]:
            out.append(f"{INDENT * 3}{_line(line)}")
    return out


def _line(line: dict[str, Any]) -> str:
    name = line["identity"] or line["ref"] or line["name"]
    price = line["price"] or {}
    if line["kind"] == "flat_fee":
        amount = f"flat {line['per_unit_amount']} {price.get('payment_term', '')}".rstrip()
    else:
        amount = f"{price.get('type')} {price.get('amount', '')}".rstrip() + (
            f" × {line['quantity']}" if line["quantity"] is not None else ""
        )
    extras = []
    if line["managed_by"] != "subscription":
        extras.append(line["managed_by"])
    if line["split_group"] is not None and line["identity"] == line["split_group"]:
        extras.append("split child")
    if line["annotations"]:
        extras.append("annotated")
    marker = "- " if line["deleted"] else "  "
    return (
        f"{marker}{name} {_period(line['service_period'])} at {line['invoice_at']} {amount}"
        f" = {line['totals']['total']}{' [' + ', '.join(extras) + ']' if extras else ''}"
    )


def _period(period: list[str] | None) -> str:
    return "-" if period is None else f"[{period[0]}, {period[1]})"


def _args(args: dict[str, Any]) -> str:
    if not args:
        return ""
    return " " + " ".join(f"{key}={_value(value)}" for key, value in args.items())


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=False)
