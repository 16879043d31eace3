"""targetstate: the target state of a subscription sync (spec: shared/spec/targetstate.md).

Given a subscription view and a reference instant ``as_of``, ``build_target_state`` computes the
items billing should hold (each with service, full service and billing periods, ``invoice_at`` and a
stable identity) and the generation limit that tells the sync when to run again.
"""

from targetstate.builder import build_target_state, cap_at_customer_deletion
from targetstate.continuity import (
    FORCE_CONTINUOUS,
    IGNORE,
    NO_PERSISTED_STATE,
    NoPersistedState,
    PersistedLookup,
    PersistedRecord,
)
from targetstate.errors import (
    DuplicateIdentityError,
    InvalidCurrencyError,
    InvalidPeriodError,
    QueriedBeforeSubscriptionStart,
    TargetStateError,
    TimeArithmeticError,
)
from targetstate.expected_line import ExpectedLine, SubscriptionReference
from targetstate.generation import generate_phase
from targetstate.items import TargetItem, TargetState, identity
from targetstate.money import Currency, fiat_currency, is_fiat, ratio, round_money
from targetstate.schedule import billing_period_at
from targetstate.timemath import INFINITY, Period, duration_seconds, period_at, truncate

__all__ = [
    "FORCE_CONTINUOUS",
    "IGNORE",
    "INFINITY",
    "NO_PERSISTED_STATE",
    "Currency",
    "DuplicateIdentityError",
    "ExpectedLine",
    "InvalidCurrencyError",
    "InvalidPeriodError",
    "NoPersistedState",
    "Period",
    "PersistedLookup",
    "PersistedRecord",
    "QueriedBeforeSubscriptionStart",
    "SubscriptionReference",
    "TargetItem",
    "TargetState",
    "TargetStateError",
    "TimeArithmeticError",
    "billing_period_at",
    "build_target_state",
    "cap_at_customer_deletion",
    "duration_seconds",
    "fiat_currency",
    "generate_phase",
    "identity",
    "is_fiat",
    "period_at",
    "ratio",
    "round_money",
    "truncate",
]
