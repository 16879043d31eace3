"""Matching a step's ``expect`` block against its STATE (scenario-format §4).

- A mapping matches when every listed key matches; unlisted keys are ignored.
- ``gathering: {…}`` matches the live gathering invoice, ``gathering: none`` asserts there is none;
  ``invoices: {<ref>: {…}}`` matches invoices by reference (``latest`` too).
- ``lines`` / ``charges`` lists are EXACT SETS keyed by ``identity`` (or ``ref``); deleted entries take
  part only with ``lines_include_deleted`` / ``charges_include_deleted``. ``*_contain`` lists entries that
  must be present (deleted ones count), ``*_absent`` identities that must not be live.
- ``"*"`` matches any non-null value; decimals compare numerically, instants as instants.
- ``error: {type, message_contains}`` expects a failure (and an unchanged state); ``error: {}`` any
  failure; ``error: null`` none. A step that fails without an ``error`` expectation is a failure too.
- Other lists: lists of mappings match as multisets (each expected entry pairs with its own actual
  entry), lists of scalars element by element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from subsync.scenario.compare import MISSING, assign, diff
from subsync.scenario.expect_shape import ENTITY_KEYS, check_expect_shape

__all__ = ["Failure", "check_expect_shape", "match_expectations"]

#: The parts of the STATE a failed step must leave as they were.
STATE_BODY_KEYS = ("invoice_count", "invoices", "charges", "credit_purchases", "credits", "sync_state")


@dataclass(frozen=True)
class Failure:
    step: int
    path: str
    expected: Any
    actual: Any

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "path": self.path, "expected": self.expected, "actual": self.actual}


class _Matcher:
    def __init__(self, step: int) -> None:
        self.step = step
        self.passed = 0
        self.failures: list[Failure] = []

    def ok(self) -> None:
        self.passed += 1

    def fail(self, path: str, expected: Any, actual: Any) -> None:
        self.failures.append(Failure(self.step, path, expected, None if actual is MISSING else actual))

    # generic values
    def value(self, expected: Any, actual: Any, path: str) -> None:
        problems = diff(expected, actual, path)
        if problems:
            for problem in problems:
                self.fail(*problem)
        else:
            self.ok()

    # entities (lines, charges)
    def entities(
        self, expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]], path: str, *, exact: bool,
        include_deleted: bool,
    ) -> None:
        considered = [a for a in actual if include_deleted or not exact or not a.get("deleted")]
        by_key: dict[str, list[Mapping[str, Any]]] = {}
        for entry in considered:
            by_key.setdefault(_entity_key(entry), []).append(entry)
        wanted: dict[str, list[Mapping[str, Any]]] = {}
        for entry in expected:
            wanted.setdefault(_entity_key(entry), []).append(entry)
        for key, entries in wanted.items():
            candidates = by_key.get(key, [])
            if not candidates:
                self.fail(f"{path}[{key}]", dict(entries[0]), None)
                continue
            problems = assign(entries, candidates, f"{path}[{key}]")
            for problem in problems:
                self.fail(*problem)
            if not problems:
                self.ok()
        if exact:
            for key, entries in by_key.items():
                if key not in wanted:
                    for entry in entries:
                        self.fail(f"{path}[{key}]", "absent", _summary(entry))

    def absent(self, keys: Sequence[str], actual: Sequence[Mapping[str, Any]], path: str) -> None:
        live = {_entity_key(a): a for a in actual if not a.get("deleted")}
        for key in keys:
            if key in live:
                self.fail(f"{path}[{key}]", "absent", _summary(live[key]))
            else:
                self.ok()


def match_expectations(
    expect: Mapping[str, Any], state: Mapping[str, Any], *, step: int, previous: Mapping[str, Any] | None
) -> tuple[int, list[Failure]]:
    """(number of checks passed, failures) of ``expect`` against the ``state`` of step ``step``."""
    m = _Matcher(step)
    error = state.get("error")
    if "error" in expect:
        wanted = expect["error"]
        if wanted is None:
            m.value(None, error, "error")
        elif error is None:
            m.fail("error", dict(wanted) or "an error", None)
        else:
            if "type" in wanted:
                m.value(wanted["type"], error.get("type"), "error.type")
            if "message_contains" in wanted:
                if str(wanted["message_contains"]) in (error.get("message") or ""):
                    m.ok()
                else:
                    m.fail("error.message", f"… {wanted['message_contains']} …", error.get("message"))
            if previous is not None:
                for key in STATE_BODY_KEYS:
                    if state.get(key) != previous.get(key):
                        m.fail(f"{key} (a failed step leaves the state unchanged)", previous.get(key), state.get(key))
    elif error is not None:
        m.fail("error", None, error)

    invoices = state.get("invoices") or []
    for key, wanted in expect.items():
        if key == "error":
            continue
        if key == "gathering":
            gathering = _invoice_by_ref(invoices, "gathering")
            if wanted in ("none", None):
                if gathering is None:
                    m.ok()
                else:
                    m.fail("gathering", "none", _summary(gathering))
            elif gathering is None:
                m.fail("gathering", "a live gathering invoice", None)
            else:
                _match_invoice(m, wanted, gathering, "gathering")
        elif key == "invoices":
            items = wanted.items() if isinstance(wanted, Mapping) else ((w.get("ref"), w) for w in wanted)
            for ref, invoice_expect in items:
                invoice = _invoice_by_ref(invoices, str(ref))
                if invoice is None:
                    m.fail(f"invoices.{ref}", "an invoice", None)
                else:
                    _match_invoice(m, invoice_expect, invoice, f"invoices.{ref}")
        elif key in ("charges", "charges_contain"):
            m.entities(
                wanted, state.get("charges") or [], key, exact=key == "charges",
                include_deleted=bool(expect.get("charges_include_deleted")),
            )
        elif key == "charges_absent":
            m.absent(wanted, state.get("charges") or [], key)
        elif key == "charges_include_deleted":
            continue
        elif key == "plan_contains":
            plan = state.get("plan")
            for text in [wanted] if isinstance(wanted, str) else wanted:
                if plan is not None and text in plan:
                    m.ok()
                else:
                    m.fail("plan", f"… {text} …", plan)
        else:
            m.value(wanted, state.get(key, MISSING), key)
    return m.passed, m.failures


def _match_invoice(m: _Matcher, expected: Mapping[str, Any], invoice: Mapping[str, Any], path: str) -> None:
    lines = invoice.get("lines") or []
    include_deleted = bool(expected.get("lines_include_deleted"))
    for key, wanted in expected.items():
        if key == "lines":
            m.entities(wanted, lines, f"{path}.lines", exact=True, include_deleted=include_deleted)
        elif key == "lines_contain":
            m.entities(wanted, lines, f"{path}.lines", exact=False, include_deleted=True)
        elif key == "lines_absent":
            m.absent(wanted, lines, f"{path}.lines")
        elif key == "lines_include_deleted":
            continue
        else:
            m.value(wanted, invoice.get(key, MISSING), f"{path}.{key}")


def _invoice_by_ref(invoices: Sequence[Mapping[str, Any]], ref: str) -> Mapping[str, Any] | None:
    if ref == "latest":
        standard = [i for i in invoices if i.get("kind") == "standard"]
        return standard[-1] if standard else None
    for invoice in invoices:
        if invoice.get("ref") == ref:
            return invoice
    return None


def _entity_key(entry: Mapping[str, Any]) -> str:
    for key in ENTITY_KEYS:
        value = entry.get(key)
        if value:
            return str(value)
    return "<no identity>"


def _summary(entry: Mapping[str, Any]) -> Any:
    """A short view of an unexpected entity (its key fields) for failure reports."""
    keys = ("identity", "ref", "status", "service_period", "invoice_at", "per_unit_amount", "quantity", "deleted")
    return {k: entry[k] for k in keys if k in entry and entry[k] is not None} or dict(entry)
