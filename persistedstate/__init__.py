"""persistedstate: the typed snapshot of what billing holds for one subscription (reconciler.md §2).

``load_persisted_state(billing, namespace=…, subscription_id=…, customer_id=…, charges=…)`` returns a
frozen ``PersistedState`` (items by identity, invoice snapshots, fingerprint) or raises a
``PersistedStateIntegrityError``. ``lookup_of(state)`` adapts it to the target builder's
``PersistedLookup`` port.
"""

from persistedstate.errors import (
    ChargeReferenceMismatchError,
    DuplicateIdentityError,
    InvalidChargeError,
    InvalidPeriodError,
    MissingInvoiceError,
    PersistedStateIntegrityError,
    UnknownItemTypeError,
    UnsupportedItemTypeError,
)
from persistedstate.fingerprint import canonical_json, fingerprint
from persistedstate.invoices import InvoiceClass, InvoiceSnapshot
from persistedstate.items import (
    ChargeItem,
    FlatFeeChargeItem,
    InvoiceItem,
    InvoiceLineItem,
    PersistedItem,
    Shape,
    SplitLineGroupItem,
    UsageBasedChargeItem,
)
from persistedstate.loader import load_persisted_state
from persistedstate.lookup import PersistedLookupRecord, PersistedStateLookup, lookup_of
from persistedstate.ports import BillingReadPort, ChargesReadPort
from persistedstate.state import PersistedState

__all__ = [
    "BillingReadPort",
    "ChargeItem",
    "ChargeReferenceMismatchError",
    "ChargesReadPort",
    "DuplicateIdentityError",
    "FlatFeeChargeItem",
    "InvalidChargeError",
    "InvalidPeriodError",
    "InvoiceClass",
    "InvoiceItem",
    "InvoiceLineItem",
    "InvoiceSnapshot",
    "MissingInvoiceError",
    "PersistedItem",
    "PersistedLookupRecord",
    "PersistedState",
    "PersistedStateIntegrityError",
    "PersistedStateLookup",
    "Shape",
    "SplitLineGroupItem",
    "UnknownItemTypeError",
    "UnsupportedItemTypeError",
    "UsageBasedChargeItem",
    "canonical_json",
    "fingerprint",
    "load_persisted_state",
    "lookup_of",
]
