"""Apply units and their order (reconciler.md §5.2).

The applier groups a plan's steps into **units**, the nodes of a ``networkx.DiGraph``:

| unit                    | contents                                           | stage |
|-------------------------|----------------------------------------------------|-------|
| ``repair:<charge_id>``  | one reference repair                               | 0     |
| ``create:<currency>``   | every ``line_create`` (new split children too)     | 1     |
| ``invoice:<id>``        | every ``line_update`` / ``line_delete`` on it      | 2     |
| ``issues:<id>``         | one issue update                                   | 3     |
| ``group_delete:<id>``   | one group delete                                   | 4     |
| ``group_update:<id>``   | one group update                                   | 5     |
| ``charges``             | every charge step                                  | 6     |

Edges: creates before every invoice unit; create and invoice units holding a step for a child of
group G before G's group units; every invoice-side unit and every repair before ``charges``. The
order is ``lexicographical_topological_sort`` keyed by ``(stage, invoice_id or "", identity or "")``;
a cycle is a broken invariant. Inside a unit steps run by (patch identity, line id); inside
``charges`` patches by charge id, then creates in plan order. This module only decides; it never
touches the store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import networkx as nx

from patches.errors import PlanInvariantError
from patches.model import (
    ChargeCreate,
    ChargeDelete,
    ChargeExtend,
    ChargeShrink,
    GroupDelete,
    GroupUpdate,
    IssueUpdate,
    LineCreate,
    LineDelete,
    LineUpdate,
    Plan,
    ReferenceRepair,
)


class Stage(IntEnum):
    REPAIR = 0
    CREATE = 1
    INVOICE = 2
    ISSUES = 3
    GROUP_DELETE = 4
    GROUP_UPDATE = 5
    CHARGES = 6


@dataclass(frozen=True)
class PlacedStep:
    """A step with the identity of the patch it belongs to (the in-unit sort key)."""

    identity: str
    step: Any

    @property
    def line_id(self) -> str:
        line = getattr(self.step, "line", None)
        return getattr(line, "line_id", "") or ""

    @property
    def group_id(self) -> str | None:
        """The split-line group a line step concerns (a child's group), if any."""
        if isinstance(self.step, LineCreate):
            return self.step.line.split_line_group_id
        if isinstance(self.step, (LineUpdate, LineDelete)):
            return self.step.line.split_line_group_id
        return None


@dataclass
class Unit:
    name: str
    stage: Stage
    invoice_id: str | None = None
    identity: str | None = None
    #: ``create:<currency>`` units: the currency; group units: the group id; repairs: the charge id.
    subject: str | None = None
    steps: list[PlacedStep] = field(default_factory=list)
    repair: ReferenceRepair | None = None
    issue_update: IssueUpdate | None = None

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (int(self.stage), self.invoice_id or "", self.identity or "")

    @property
    def group_ids(self) -> set[str]:
        return {gid for placed in self.steps if (gid := placed.group_id) is not None}

    def ordered_steps(self) -> list[PlacedStep]:
        """Steps by (patch identity, line id); a stable sort keeps plan order among equal keys."""
        return sorted(self.steps, key=lambda placed: (placed.identity, placed.line_id))


def build_units(plan: Plan) -> dict[str, Unit]:
    """Group the plan's entries into units (no edges yet)."""
    units: dict[str, Unit] = {}

    def unit(name: str, stage: Stage, **fields: Any) -> Unit:
        if name not in units:
            units[name] = Unit(name=name, stage=stage, **fields)
        return units[name]

    for repair in plan.reference_repairs:
        unit(f"repair:{repair.charge_id}", Stage.REPAIR, identity=repair.identity, subject=repair.charge_id,
             repair=repair)
    for patch in plan.patches:
        for step in patch.steps:
            placed = PlacedStep(patch.identity, step)
            if isinstance(step, LineCreate):
                unit(f"create:{step.currency}", Stage.CREATE, subject=step.currency).steps.append(placed)
            elif isinstance(step, (LineUpdate, LineDelete)):
                invoice_id = step.line.invoice_id
                unit(f"invoice:{invoice_id}", Stage.INVOICE, invoice_id=invoice_id).steps.append(placed)
            elif isinstance(step, GroupDelete):
                target = unit(f"group_delete:{step.group_id}", Stage.GROUP_DELETE, identity=patch.identity,
                              subject=step.group_id)
                _one_step(target, placed)
            elif isinstance(step, GroupUpdate):
                target = unit(f"group_update:{step.group_id}", Stage.GROUP_UPDATE, identity=patch.identity,
                              subject=step.group_id)
                _one_step(target, placed)
            elif isinstance(step, (ChargeCreate, ChargeDelete, ChargeShrink, ChargeExtend)):
                unit("charges", Stage.CHARGES).steps.append(placed)
            else:
                raise PlanInvariantError(
                    f"unknown step kind {getattr(step, 'kind', type(step).__name__)!r} in patch {patch.identity}",
                    namespace=plan.namespace, subscription_id=plan.subscription_id, customer_id=plan.customer_id,
                    identity=patch.identity,
                )
    for update in plan.issue_updates:
        unit(f"issues:{update.invoice_id}", Stage.ISSUES, invoice_id=update.invoice_id, issue_update=update)
    return units


def _one_step(unit: Unit, placed: PlacedStep) -> None:
    if unit.steps:
        raise PlanInvariantError(f"two {unit.stage.name.lower()} steps for one split-line group ({unit.name})",
                                 identity=placed.identity)
    unit.steps.append(placed)


def apply_graph(plan: Plan) -> nx.DiGraph:
    """The units of ``plan`` as nodes (attribute ``unit``) with the dependency edges of §5.2."""
    units = build_units(plan)
    graph = nx.DiGraph()
    for name, unit in units.items():
        graph.add_node(name, unit=unit)
    creates = [u for u in units.values() if u.stage is Stage.CREATE]
    invoices = [u for u in units.values() if u.stage is Stage.INVOICE]
    groups: dict[str, list[Unit]] = defaultdict(list)
    for u in units.values():
        if u.stage in (Stage.GROUP_DELETE, Stage.GROUP_UPDATE):
            groups[u.subject or ""].append(u)
    # 1. creates land on the gathering invoice before any invoice unit runs
    for create in creates:
        for invoice in invoices:
            graph.add_edge(create.name, invoice.name)
    # 2. hierarchy child changes before their group's changes
    for child_unit in (*creates, *invoices):
        for group_id in child_unit.group_ids:
            for group_unit in groups.get(group_id, ()):
                graph.add_edge(child_unit.name, group_unit.name)
    # 3. invoice-side work and repairs before charge work
    if "charges" in units:
        for u in units.values():
            if u.stage is not Stage.CHARGES:
                graph.add_edge(u.name, "charges")
    return graph


def ordered_units(plan: Plan) -> list[Unit]:
    """The units of ``plan`` in apply order."""
    return sort_units(apply_graph(plan), plan)


def sort_units(graph: nx.DiGraph, plan: Plan) -> list[Unit]:
    """``lexicographical_topological_sort`` by unit key; a cycle raises ``PlanInvariantError``."""
    keys = {name: data["unit"].sort_key for name, data in graph.nodes(data=True)}
    try:
        order = list(nx.lexicographical_topological_sort(graph, key=keys.__getitem__))
    except nx.NetworkXUnfeasible as exc:
        raise PlanInvariantError(
            f"the apply graph has a cycle: {exc}", namespace=plan.namespace, subscription_id=plan.subscription_id,
            customer_id=plan.customer_id,
        ) from exc
    return [graph.nodes[name]["unit"] for name in order]


def apply_order(plan: Plan) -> list[str]:
    """The unit names in apply order (what tests and dry-run logs show)."""
    return [unit.name for unit in ordered_units(plan)]
