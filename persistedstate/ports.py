"""The store reads the loader needs, as structural ports (reconciler.md §8.2).

``billing.service.BillingService`` satisfies ``BillingReadPort`` and
``billing.charges.store.ChargeStore`` satisfies ``ChargesReadPort``; tests may hand in fakes. Every
method runs inside the caller's transaction (the sync's locked transaction), so one load sees one
consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal, Protocol

from billing.invoices import Invoice
from billing.lines import Line
from billing.split_lines import SplitLineHierarchy


class BillingReadPort(Protocol):
    def get_standard_lines_for_subscription(self, namespace: str, subscription_id: str) -> Sequence[Line]: ...

    def get_gathering_lines_for_subscription(self, namespace: str, subscription_id: str) -> Sequence[Line]: ...

    def get_split_line_hierarchies_for_subscription(
        self, namespace: str, subscription_id: str
    ) -> Sequence[SplitLineHierarchy]: ...

    def list_invoices(
        self,
        namespace: str,
        ids: Collection[str],
        *,
        include_deleted: bool = True,
        with_line_ids: bool = True,
        with_validation_issues: bool = True,
    ) -> Sequence[Invoice]: ...


class ChargesReadPort(Protocol):
    #: Returns ``billing.charges.models.Charge`` values; typed ``Any`` so that the loader, not the
    #: port, decides what an unknown charge type means (``UnknownItemTypeError``).
    def list_charges(
        self, namespace: str, *, subscription_ids: Sequence[str], deleted_filter: Literal["base_intent"] = "base_intent"
    ) -> Sequence[Any]: ...
