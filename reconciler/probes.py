"""Quantity probes (reconciler.md §3.10).

Drift of a usage line on an immutable invoice depends on the quantity the line *would* have for the
desired period. The planner is pure, so it never meters: it reads quantities from the mapping the
sync service evaluated beforehand (``required_probes`` tells which ones). A lookup either reads the
mapping (planning) or records what is asked (``required_probes``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from pydantic import BaseModel, ConfigDict

from billing.period import Period
from patches.errors import PlanInvariantError


class QuantityProbe(BaseModel):
    """The quantity of ``line_id`` on ``invoice_id`` metered for ``period``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str
    line_id: str
    period: Period


class QuantityLookup:
    """What the planner calls to read a quantity. Planning reads ``quantities``; a missing probe is a
    ``PlanInvariantError`` (the sync service evaluates exactly ``required_probes``)."""

    def __init__(self, quantities: Mapping[QuantityProbe, Decimal], *, context: Mapping[str, str | None]) -> None:
        self._quantities = quantities
        self._context = dict(context)

    def quantity(self, probe: QuantityProbe, *, identity: str, current: Decimal | None) -> Decimal:
        try:
            return self._quantities[probe]
        except KeyError:
            raise PlanInvariantError(
                f"quantity probe missing for line {probe.line_id} on invoice {probe.invoice_id} "
                f"over {probe.period}",
                identity=identity,
                **self._context,  # type: ignore[arg-type]
            ) from None


class RecordingLookup(QuantityLookup):
    """Records every probe asked for. It answers with the line's current quantity so that planning
    can go on; which probes are read never depends on the answers."""

    def __init__(self) -> None:
        super().__init__({}, context={})
        self.probes: set[QuantityProbe] = set()

    def quantity(self, probe: QuantityProbe, *, identity: str, current: Decimal | None) -> Decimal:
        self.probes.add(probe)
        return current if current is not None else Decimal(0)
