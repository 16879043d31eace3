"""``check_invariants(store, namespace, customer_id)``: the §2.11 invariants of one customer's ledger,
returned as a list of violations (empty when all hold). Used by the tests after every step.

1. every group sums to zero per currency;
2. per grant: ``amount = remaining + net consumed + net covered + net expired + revoked_remainder`` with
   every term ≥ 0 (net consumed = slices − corrections that returned value to the lot; net covered =
   ``covered_at_issue`` − what corrections of covered records returned to the lot). A grant voided by
   its invoice keeps its accounting as of the void: ``remaining = net expired = 0`` and
   ``amount = revoked_remainder + consumed_to_negative``;
3. ``balance(t) = Σ grant amounts − Σ allocations + Σ corrections − Σ net breakage − Σ revoked_remainder
   − Σ consumed_to_negative``, each term read from its own table and restricted to what is booked
   ≤ t. A grant not yet effective at t counts only the negative balance it covered; a lot that does not
   count at t (not effective, expired, voided) has whatever its entries booked ≤ t still hold taken
   out — for an expired lot that is the due-but-unwritten expiry, so the formula holds "once every due
   expiry group is written" at any t;
4. at most one grant, issue, conversion and settlement per purchase, one expiry per grant;
5. allocations are never over-corrected; records never owe more than their amount or less than 0;
   covers never return more than they covered; no lot holds negative credit.

Invariant 6 (entries are never updated or deleted) is enforced when writing: the ORM refuses it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger.balances import balance, counts_at
from billing.ledger.queries import allocation_rows, entry_rows, grant_rows, group_rows, record_rows
from billing.store.ledger_tables import LedgerCorrectionRow, LedgerCoverRow, LedgerUncoverRow
from billing.store.unit_of_work import Store

ZERO = Decimal(0)


def check_invariants(store: Store, namespace: str, customer_id: str, *, as_of: dt.datetime | None = None) -> list[str]:
    with store.unit_of_work(read_only=True) as uow:
        t = as_of if as_of is not None else uow.now
        return _Checker(uow.session, namespace, customer_id, t).run()


class _Checker:
    def __init__(self, session: Session, namespace: str, customer_id: str, t: dt.datetime) -> None:
        self.session, self.namespace, self.customer_id, self.t = session, namespace, customer_id, t
        self.problems: list[str] = []
        self.groups = group_rows(session, namespace, customer_id)
        self.entries = entry_rows(session, namespace, customer_id)
        self.grants = grant_rows(session, namespace, customer_id)
        self.records = record_rows(session, namespace, customer_id)
        self.allocations = allocation_rows(session, namespace, customer_id=customer_id)
        self.corrections = list(
            session.scalars(
                select(LedgerCorrectionRow).where(
                    LedgerCorrectionRow.namespace == namespace, LedgerCorrectionRow.customer_id == customer_id
                )
            )
        )
        self.covers = list(
            session.scalars(
                select(LedgerCoverRow).where(LedgerCoverRow.namespace == namespace, LedgerCoverRow.customer_id == customer_id)
            )
        )
        self.uncovers = list(
            session.scalars(
                select(LedgerUncoverRow).where(
                    LedgerUncoverRow.namespace == namespace, LedgerUncoverRow.customer_id == customer_id
                )
            )
        )

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def run(self) -> list[str]:
        self.balanced_groups()
        self.grant_accounting()
        self.balance_formula()
        self.uniqueness()
        self.bounds()
        return self.problems

    # 1
    def balanced_groups(self) -> None:
        sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for entry in self.entries:
            sums[(entry.group_id, entry.currency)] += entry.amount
        for (group_id, currency), total in sorted(sums.items()):
            if total != 0:
                self.fail(f"group {group_id} sums to {total} {currency}")
        for group in self.groups:
            if not group.id:
                self.fail(f"group #{group.sequence} has an empty id")

    # 2
    def grant_accounting(self) -> None:
        uncovered_by_grant: dict[str, Decimal] = defaultdict(Decimal)
        cover_grant = {cover.id: cover.grant_id for cover in self.covers}
        for uncover in self.uncovers:
            uncovered_by_grant[cover_grant[uncover.cover_id]] += uncover.amount
        covered_by_grant: dict[str, Decimal] = defaultdict(Decimal)
        for cover in self.covers:
            covered_by_grant[cover.grant_id] += cover.amount
        slices: dict[str, Decimal] = defaultdict(Decimal)
        for allocation in self.allocations:
            if allocation.grant_id is not None:
                slices[allocation.grant_id] += allocation.amount
        records = {record.id: record for record in self.records}

        for grant in self.grants:
            lot = [e for e in self.entries if e.lot_id == grant.id]
            fbo = [e for e in lot if e.account == "fbo"]
            remaining = sum((e.amount for e in fbo), ZERO)
            expired = sum((e.amount for e in lot if e.account == "breakage"), ZERO)
            revoked = -sum((e.amount for e in fbo if e.posting in ("grant_void", "purchase_void")), ZERO) - sum(
                (e.amount for e in lot if e.account == "breakage" and e.posting == "purchase_void"), ZERO
            )
            name = f"grant {grant.id} (purchase {grant.source_charge_id})"
            if grant.covered_at_issue != covered_by_grant[grant.id]:
                self.fail(f"{name}: covered_at_issue {grant.covered_at_issue} ≠ its covers {covered_by_grant[grant.id]}")
            if revoked != grant.revoked_remainder:
                self.fail(f"{name}: revoked_remainder {grant.revoked_remainder} ≠ revoked by its entries {revoked}")
            if grant.void_kind == "invoice":
                terms = {"remaining": remaining, "net expired": expired}
                for label, value in terms.items():
                    if value != 0:
                        self.fail(f"{name}: voided by its invoice yet {label} is {value}")
                if grant.amount != grant.revoked_remainder + grant.consumed_to_negative:
                    self.fail(
                        f"{name}: amount {grant.amount} ≠ revoked {grant.revoked_remainder} + consumed to negative "
                        f"{grant.consumed_to_negative}"
                    )
                record = records.get(grant.negative_balance_id or "")
                expected = record.amount if record is not None else ZERO
                if grant.consumed_to_negative != expected:
                    self.fail(f"{name}: consumed_to_negative {grant.consumed_to_negative} ≠ its record {expected}")
                continue
            returned = sum((e.amount for e in fbo if e.posting == "correct"), ZERO)
            uncovered = uncovered_by_grant[grant.id]
            consumed = slices[grant.id] - (returned - uncovered)
            covered = grant.covered_at_issue - uncovered
            terms = {
                "remaining": remaining,
                "net consumed": consumed,
                "net covered": covered,
                "net expired": expired,
                "revoked": grant.revoked_remainder,
            }
            for label, value in terms.items():
                if value < 0:
                    self.fail(f"{name}: {label} is negative ({value})")
            if grant.amount != sum(terms.values(), ZERO):
                self.fail(f"{name}: amount {grant.amount} ≠ " + " + ".join(f"{k} {v}" for k, v in terms.items()))
            if grant.void_kind == "manual" and remaining != 0:
                self.fail(f"{name}: voided, yet {remaining} is spendable")

    # 3
    def balance_formula(self) -> None:
        t = self.t
        by_currency: dict[str, Decimal] = defaultdict(Decimal)
        covers_by_grant: dict[str, list[LedgerCoverRow]] = defaultdict(list)
        for cover in self.covers:
            covers_by_grant[cover.grant_id].append(cover)
        for grant in self.grants:
            if grant.effective_at <= t:
                by_currency[grant.currency] += grant.amount
            else:
                by_currency[grant.currency] += sum((c.amount for c in covers_by_grant[grant.id] if c.booked_at <= t), ZERO)
            if not counts_at(grant, t):
                # A lot that does not count at t (not yet effective, expired, voided) adds nothing to the
                # balance: take out what its entries booked ≤ t still hold. For an expired lot that is
                # the due-but-unwritten expiry; for a future lot, value revoked or returned before it starts.
                by_currency[grant.currency] -= sum(
                    (e.amount for e in self.entries if e.lot_id == grant.id and e.account == "fbo" and e.booked_at <= t),
                    ZERO,
                )
        for allocation in self.allocations:
            if allocation.booked_at <= t:
                by_currency[allocation.currency] -= allocation.amount
        currency_of = {a.id: a.currency for a in self.allocations}
        for correction in self.corrections:
            if correction.booked_at <= t:
                by_currency[currency_of[correction.allocation_id]] += correction.amount
        for entry in self.entries:
            if entry.booked_at > t or entry.lot_id is None:
                continue
            if entry.account == "breakage":
                by_currency[entry.currency] -= entry.amount  # net breakage
                if entry.posting == "purchase_void":
                    by_currency[entry.currency] += entry.amount  # … whose reversal is revoked, not returned
            elif entry.account == "fbo" and entry.posting in ("grant_void", "purchase_void"):
                by_currency[entry.currency] += entry.amount  # revoked remainder (negative entries)
        for record in self.records:
            if record.source_kind == "purchase" and record.booked_at <= t:
                by_currency[record.currency] -= record.amount
        currencies = set(by_currency) | {g.currency for g in self.grants} | {r.currency for r in self.records}
        for currency in sorted(currencies):
            actual = balance(self.session, self.namespace, self.customer_id, currency, t)
            if actual != by_currency[currency]:
                self.fail(
                    f"balance {actual} {currency} at {t.isoformat()} ≠ grants − consumption − reversals "
                    f"{by_currency[currency]}"
                )

    # 4
    def uniqueness(self) -> None:
        for source, count in Counter(g.source_charge_id for g in self.grants).items():
            if count > 1:
                self.fail(f"purchase {source} has {count} grants")
        kinds = Counter((g.kind, g.charge_id if g.kind != "breakage" else g.grant_id) for g in self.groups if g.run_id is None)
        for (kind, owner), count in kinds.items():
            if kind in ("grant_issue", "payment_settle", "breakage", "purchase_void") and count > 1:
                self.fail(f"{owner} has {count} {kind} groups")
        groups_by_id = {g.id: g for g in self.groups}
        conversions = Counter(
            groups_by_id[e.group_id].charge_id for e in self.entries if e.posting == "payment_convert" and e.account == "brokerage"
        )
        for charge_id, count in conversions.items():
            if count > 2:  # one brokerage leg per currency of the one conversion
                self.fail(f"purchase {charge_id} was converted more than once")

    # 5
    def bounds(self) -> None:
        taken: dict[str, Decimal] = defaultdict(Decimal)
        for correction in self.corrections:
            taken[correction.allocation_id] += correction.amount
        for allocation in self.allocations:
            if allocation.amount <= 0 or not ZERO <= taken[allocation.id] <= allocation.amount:
                self.fail(f"allocation {allocation.id}: corrected {taken[allocation.id]} of {allocation.amount}")
        owed: dict[str, Decimal] = defaultdict(Decimal)
        for entry in self.entries:
            if entry.source_kind == "negative_balance":
                owed[entry.source_id or ""] -= entry.amount
        for record in self.records:
            if not ZERO <= owed[record.id] <= record.amount:
                self.fail(f"negative-balance record {record.id}: outstanding {owed[record.id]} of {record.amount}")
        returned: dict[str, Decimal] = defaultdict(Decimal)
        for uncover in self.uncovers:
            returned[uncover.cover_id] += uncover.amount
        for cover in self.covers:
            if not ZERO <= returned[cover.id] <= cover.amount:
                self.fail(f"cover {cover.id}: returned {returned[cover.id]} of {cover.amount}")
        lots: dict[str, Decimal] = defaultdict(Decimal)
        for entry in self.entries:
            if entry.account == "fbo":
                lots[entry.lot_id or ""] += entry.amount
        for lot_id, held in lots.items():
            if held < 0:
                self.fail(f"lot {lot_id} holds {held}")
