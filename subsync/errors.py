"""The project's error categories (scenario-format §3.1) and the class → category mapping.

Every package raises its own, finer exception classes; the CLI and the scenario runner show only the
category. ``category_of`` walks the class's MRO and returns the category of the most specific
registered class, so every subclass belongs to exactly one category (its nearest registered
ancestor's). The rules chosen where the spec leaves room are written down in ``docs/scenarios.md``.
"""

from __future__ import annotations

import importlib
from typing import Literal

import pydantic

from billing import errors as billing_errors
from patches import errors as patches_errors
from persistedstate import errors as persisted_errors
from reconciler import errors as reconciler_errors
from subscriptions import errors as subscription_errors
from targetstate import errors as target_errors

ErrorCategory = Literal[
    "ValidationError",
    "DuplicateIdentityError",
    "MissingInvoiceError",
    "IntegrityError",
    "IllegalTransitionError",
    "ConflictError",
    "StalePlanError",
    "NotFoundError",
]
CATEGORIES: tuple[str, ...] = ErrorCategory.__args__  # type: ignore[attr-defined]

#: class → category. Base classes are listed so that a subclass nobody listed still has a category.
_REGISTRY: dict[type[BaseException], str] = {
    # Bad input anywhere: pydantic validation and the ValueErrors that reject naive datetimes.
    ValueError: "ValidationError",
    pydantic.ValidationError: "ValidationError",
    # subscriptions
    subscription_errors.SubscriptionError: "ValidationError",
    subscription_errors.SubscriptionValidationError: "ValidationError",
    # targetstate: a subscription that cannot produce a target is bad input …
    target_errors.TargetStateError: "ValidationError",
    target_errors.TimeArithmeticError: "ValidationError",
    target_errors.QueriedBeforeSubscriptionStart: "ValidationError",
    target_errors.InvalidCurrencyError: "ValidationError",
    target_errors.DuplicateIdentityError: "DuplicateIdentityError",
    # … except a period that cannot be made continuous with what billing holds (persisted state).
    target_errors.InvalidPeriodError: "IntegrityError",
    # billing
    billing_errors.BillingError: "ValidationError",
    billing_errors.BillingValidationError: "ValidationError",
    billing_errors.NothingToInvoiceError: "ValidationError",
    billing_errors.NotFoundError: "NotFoundError",
    billing_errors.IllegalTransitionError: "IllegalTransitionError",
    billing_errors.ConflictError: "ConflictError",
    billing_errors.StoreIntegrityError: "IntegrityError",
    # the sync error tree (reconciler §10.1)
    billing_errors.SyncError: "IntegrityError",
    persisted_errors.PersistedStateIntegrityError: "IntegrityError",
    persisted_errors.DuplicateIdentityError: "DuplicateIdentityError",
    persisted_errors.MissingInvoiceError: "MissingInvoiceError",
    persisted_errors.UnknownItemTypeError: "IntegrityError",
    persisted_errors.UnsupportedItemTypeError: "IntegrityError",
    persisted_errors.InvalidPeriodError: "IntegrityError",
    persisted_errors.InvalidChargeError: "IntegrityError",
    persisted_errors.ChargeReferenceMismatchError: "IntegrityError",
    reconciler_errors.PlanningError: "IntegrityError",
    reconciler_errors.CreditsUnavailableError: "ValidationError",
    reconciler_errors.InvalidCurrencyError: "ValidationError",
    reconciler_errors.FlatFeeAgainstHierarchyError: "IntegrityError",
    reconciler_errors.PriceKindMismatchError: "IntegrityError",
    reconciler_errors.UnsupportedOperationError: "IntegrityError",
    reconciler_errors.DuplicateChargePatchError: "IntegrityError",
    reconciler_errors.EmptyExpectedLineError: "IntegrityError",
    patches_errors.PlanInvariantError: "IntegrityError",
    patches_errors.PlanFormatError: "ValidationError",
    patches_errors.ApplyError: "IntegrityError",
    patches_errors.ChargesUnavailableError: "ValidationError",
    patches_errors.ChargeAdvanceLimitError: "IntegrityError",
    patches_errors.StalePlanError: "StalePlanError",
}

#: Errors of the application modules (the sync service, the scenario runner), which import this module
#: themselves: (module, class name) → category, registered on first use.
_APPLICATION_ERRORS: dict[tuple[str, str], str] = {
    ("subsync.scenario.errors", "ScenarioError"): "ValidationError",
    ("subsync.scenario.errors", "ScenarioFormatError"): "ValidationError",
    ("subsync.scenario.errors", "CreditsBackendRequiredError"): "ValidationError",
    ("subsync.scenario.errors", "ReferenceNotFoundError"): "NotFoundError",
    ("subsync.sync.errors", "SubscriptionNotFoundError"): "NotFoundError",
    ("subsync.sync.errors", "CustomCurrencyNotSupportedError"): "ConflictError",
    ("subsync.sync.errors", "InvalidEventError"): "ValidationError",
    ("subsync.sync.errors", "ConfigurationError"): "ValidationError",
    # A database without the subsync schema (or an older one): a configuration problem, like
    # ConfigurationError; the message says to run `subsync db upgrade`.
    ("subsync.settings", "SchemaError"): "ValidationError",
    # The failures one periodic run collected (reconciler §7.2). The CLI lists each failure with its own
    # category; the group as a whole means billing did not converge, an integrity problem of the run.
    ("subsync.job.report", "ReconcileErrors"): "IntegrityError",
}
#: Errors of backends that are still being built (imported when present): (module, class name) → category.
_OPTIONAL_ERRORS: dict[tuple[str, str], str] = {
    # The ledger refusing an UPDATE/DELETE of an append-only row: a write the store's rules refuse,
    # like StoreIntegrityError.
    ("billing.store.ledger_tables", "AppendOnlyViolation"): "IntegrityError",
}
#: Mixins that carry data (``charge_id``, ``code``) but no category: a class deriving from one takes the
#: category of its billing base; the mixin alone (never raised by itself) falls back to this one.
_MIXINS_BY_NAME: dict[tuple[str, str], str] = {
    ("billing.charges.errors", "ChargeError"): "ValidationError",
}
_MIXINS: dict[type[BaseException], str] = {}
_loaded_application = False


def _load_application_errors() -> None:
    global _loaded_application
    if _loaded_application:
        return
    for (module_name, class_name), category in _APPLICATION_ERRORS.items():
        cls = getattr(importlib.import_module(module_name), class_name)
        _REGISTRY.setdefault(cls, category)
    for table, target in ((_OPTIONAL_ERRORS, _REGISTRY), (_MIXINS_BY_NAME, _MIXINS)):
        for (module_name, class_name), category in table.items():
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue  # a checkout without that backend cannot raise its errors either
            cls = getattr(module, class_name, None)
            if cls is not None:
                target.setdefault(cls, category)
    _loaded_application = True


def category_of(error: BaseException | type[BaseException]) -> str | None:
    """The category of an exception (instance or class), or None when it is not a project error.

    None means a programming error (``TypeError``, ``KeyError``…): callers let it propagate.
    """
    _load_application_errors()
    cls = error if isinstance(error, type) else type(error)
    for klass in cls.__mro__:
        category = _REGISTRY.get(klass)
        if category is not None:
            return category
    for klass in cls.__mro__:
        category = _MIXINS.get(klass)
        if category is not None:
            return category
    return None


def register(cls: type[BaseException], category: str) -> None:
    """Give an application exception class its category (one category per class)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown error category {category!r} (expected one of {', '.join(CATEGORIES)})")
    existing = _REGISTRY.get(cls)
    if existing is not None and existing != category:
        raise ValueError(f"{cls.__qualname__} already belongs to {existing}; a class has exactly one category")
    _REGISTRY[cls] = category


def describe_error(error: BaseException) -> dict[str, str] | None:
    """``{type, message}`` as a scenario STATE shows a failed step; None for non-project errors."""
    category = category_of(error)
    if category is None:
        return None
    message = str(error)
    if isinstance(error, pydantic.ValidationError):
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
            for e in error.errors(include_url=False)
        )
    return {"type": category, "message": message}
