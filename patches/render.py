"""Drawing a plan: the text diff of §4.9 and the JSON document of §4.10.

Rendering never decides anything: each entry's line comes from the model's ``describe()`` texts
(``patches.model.text``); this module adds the header, the invoice names, the entry order
(repairs, patches, issue changes), optional terminal colours, and JSON in and out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import ValidationError

from patches.errors import PlanFormatError
from patches.model import Plan
from patches.model.text import instant

NO_CHANGES = "(no changes)"
BASIS_DIGITS = 12

#: ANSI colours by entry symbol: ``+`` green, ``-`` red, ``~`` yellow, ``!`` magenta, ``*`` cyan.
COLOURS = {"+": "32", "-": "31", "~": "33", "!": "35", "*": "36"}
_RESET = "\x1b[0m"


def default_invoice_names(plan: Plan) -> dict[str, str]:
    """``gathering`` for the live gathering invoice, ``standard:<id>`` for standard invoices.

    A soft-deleted (``gone``) gathering invoice is ``gathering:<id>``; no step or issue can name one.
    """
    names: dict[str, str] = {}
    for header in plan.invoices:
        if header.kind == "standard":
            names[header.id] = f"standard:{header.id}"
        elif header.invoice_class == "gathering":
            names[header.id] = "gathering"
        else:
            names[header.id] = f"gathering:{header.id}"
    return names


def header_line(plan: Plan) -> str:
    return (
        f"plan {plan.namespace}/{plan.subscription_id} customer={plan.customer_id} currency={plan.currency}"
        f" as_of={instant(plan.as_of)} basis={plan.basis[:BASIS_DIGITS]}"
    )


def entry_lines(plan: Plan, names: Mapping[str, str] | None = None) -> list[str]:
    """One line per repair, per patch and per issue added or removed, in plan order (no header)."""
    all_names = {**default_invoice_names(plan), **(names or {})}
    lines = [repair.describe() for repair in plan.reference_repairs]
    lines += [patch.describe(all_names, currency=plan.currency) for patch in plan.patches]
    for update in plan.issue_updates:
        lines += update.describe(all_names)
    return lines


def _coloured(line: str) -> str:
    code = COLOURS.get(line[:1])
    return f"\x1b[{code}m{line}{_RESET}" if code else line


def render_text(plan: Plan, names: Mapping[str, str] | None = None, *, colour: bool = False) -> str:
    """The text diff of a plan: the header line, then one line per entry or ``(no changes)``.

    ``names`` maps invoice ids to display names and overrides the defaults (the scenario runner
    passes ``standard[N]``). ``colour=True`` wraps each entry in an ANSI colour by its symbol; the
    text is otherwise identical. Lines are joined by ``\\n`` with no trailing newline.
    """
    entries = entry_lines(plan, names) or [NO_CHANGES]
    if colour:
        entries = [_coloured(line) for line in entries]
    return "\n".join([header_line(plan), *entries])


def render_json(plan: Plan) -> str:
    """The stored form of a plan (§4.10): decimals as strings, instants RFC 3339 UTC with ``Z``."""
    return plan.model_dump_json()


def load_plan(text: str | bytes) -> Plan:
    """Read a plan written by ``render_json``; ``PlanFormatError`` when it cannot be used."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise PlanFormatError(f"stored plan is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise PlanFormatError(f"stored plan must be a JSON object, got {type(document).__name__}")
    version = document.get("format_version")
    if version != 1 or isinstance(version, bool):
        raise PlanFormatError(f"stored plan has format_version {version!r}; this subsync reads format_version 1")
    context = {
        key: document.get(key) if isinstance(document.get(key), str) else None
        for key in ("namespace", "subscription_id", "customer_id")
    }
    try:
        return Plan.model_validate_json(text)
    except ValidationError as error:
        raise PlanFormatError(f"stored plan is invalid: {error}", **context) from error
