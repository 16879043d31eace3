"""``subsync.errors``: every exception class of the project belongs to exactly one category of
scenario-format §3.1, and the classes the specs name belong to the category the specs give them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pydantic
import pytest

from billing import errors as billing_errors
from patches import errors as patches_errors
from persistedstate import errors as persisted_errors
from reconciler import errors as reconciler_errors
from subscriptions import errors as subscription_errors
from subsync import errors as subsync_errors
from subsync.errors import CATEGORIES, category_of, describe_error, register
from subsync.scenario import errors as scenario_errors
from subsync.sync import errors as sync_errors
from targetstate import errors as target_errors

PACKAGES = ("subscriptions", "targetstate", "billing", "persistedstate", "reconciler", "patches", "subsync")


def project_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of the project's packages."""
    found: dict[str, type[BaseException]] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        modules = [package]
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if ".migrations." in info.name:
                continue
            modules.append(importlib.import_module(info.name))
        for module in modules:
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__.split(".")[0] in PACKAGES:
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [found[name] for name in sorted(found)]


CLASSES = project_exception_classes()


def test_the_project_defines_the_errors_the_specs_name():
    names = {cls.__name__ for cls in CLASSES}
    assert {"DuplicateIdentityError", "MissingInvoiceError", "StalePlanError", "CustomCurrencyNotSupportedError",
            "ScenarioFormatError", "IllegalTransitionError", "PersistedStateIntegrityError"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=[f"{c.__module__}.{c.__qualname__}" for c in CLASSES])
def test_every_project_exception_has_exactly_one_category(cls):
    assert category_of(cls) in CATEGORIES


@pytest.mark.parametrize(
    ("cls", "category"),
    [
        (pydantic.ValidationError, "ValidationError"),
        (subscription_errors.SubscriptionValidationError, "ValidationError"),
        (billing_errors.BillingValidationError, "ValidationError"),
        (billing_errors.NothingToInvoiceError, "ValidationError"),
        (reconciler_errors.CreditsUnavailableError, "ValidationError"),  # credit_only plan with credits off
        (reconciler_errors.InvalidCurrencyError, "ValidationError"),
        (target_errors.InvalidCurrencyError, "ValidationError"),
        (patches_errors.PlanFormatError, "ValidationError"),
        (sync_errors.ConfigurationError, "ValidationError"),
        (sync_errors.InvalidEventError, "ValidationError"),
        (scenario_errors.ScenarioFormatError, "ValidationError"),
        (scenario_errors.CreditsBackendRequiredError, "ValidationError"),
        (persisted_errors.DuplicateIdentityError, "DuplicateIdentityError"),
        (target_errors.DuplicateIdentityError, "DuplicateIdentityError"),
        (persisted_errors.MissingInvoiceError, "MissingInvoiceError"),
        (persisted_errors.PersistedStateIntegrityError, "IntegrityError"),
        (persisted_errors.InvalidPeriodError, "IntegrityError"),
        (persisted_errors.UnknownItemTypeError, "IntegrityError"),
        (persisted_errors.UnsupportedItemTypeError, "IntegrityError"),
        (persisted_errors.InvalidChargeError, "IntegrityError"),
        (persisted_errors.ChargeReferenceMismatchError, "IntegrityError"),
        (billing_errors.StoreIntegrityError, "IntegrityError"),
        (patches_errors.PlanInvariantError, "IntegrityError"),
        (billing_errors.IllegalTransitionError, "IllegalTransitionError"),
        (billing_errors.ConflictError, "ConflictError"),
        (sync_errors.CustomCurrencyNotSupportedError, "ConflictError"),
        (patches_errors.StalePlanError, "StalePlanError"),
        (billing_errors.NotFoundError, "NotFoundError"),
        (sync_errors.SubscriptionNotFoundError, "NotFoundError"),
        (scenario_errors.ReferenceNotFoundError, "NotFoundError"),
    ],
    ids=lambda value: value.__qualname__ if isinstance(value, type) else value,
)
def test_spec_named_classes_map_to_their_category(cls, category):
    assert category_of(cls) == category


def test_a_subclass_nobody_registered_inherits_its_nearest_category():
    class LateStale(patches_errors.StalePlanError):
        pass

    class Special(persisted_errors.MissingInvoiceError):
        pass

    assert category_of(LateStale) == "StalePlanError"
    assert category_of(Special("gone", invoice_id="inv")) == "MissingInvoiceError"


def test_programming_errors_have_no_category():
    for error in (TypeError("x"), KeyError("x"), AttributeError("x"), RuntimeError("x")):
        assert category_of(error) is None
        assert describe_error(error) is None


def test_describe_error_gives_the_state_shape():
    error = persisted_errors.MissingInvoiceError(
        "invoice not found for persisted subscription state: inv-1", invoice_id="inv-1", subscription_id="sub-1",
        identity="sub-1/p/i/v[0]/period[0]",
    )
    assert describe_error(error) == {
        "type": "MissingInvoiceError",
        "message": "invoice not found for persisted subscription state: inv-1 (subscription sub-1, identity sub-1/p/i/v[0]/period[0])",
    }


def test_register_refuses_a_second_category_and_unknown_names():
    class AppError(Exception):
        pass

    register(AppError, "ConflictError")
    register(AppError, "ConflictError")  # the same again is fine
    assert category_of(AppError) == "ConflictError"
    with pytest.raises(ValueError, match="exactly one category"):
        register(AppError, "NotFoundError")
    with pytest.raises(ValueError, match="unknown error category"):
        register(AppError, "Oops")


def test_the_categories_are_the_table_of_scenario_format():
    assert subsync_errors.CATEGORIES == (
        "ValidationError", "DuplicateIdentityError", "MissingInvoiceError", "IntegrityError",
        "IllegalTransitionError", "ConflictError", "StalePlanError", "NotFoundError",
    )


@pytest.mark.parametrize(
    ("base", "category"),
    [
        (billing_errors.IllegalTransitionError, "IllegalTransitionError"),  # charges' PreconditionFailed too
        (billing_errors.ConflictError, "ConflictError"),
        (billing_errors.NotFoundError, "NotFoundError"),
        (billing_errors.BillingValidationError, "ValidationError"),
        (persisted_errors.DuplicateIdentityError, "DuplicateIdentityError"),
        (persisted_errors.MissingInvoiceError, "MissingInvoiceError"),
        (patches_errors.StalePlanError, "StalePlanError"),
    ],
    ids=lambda value: value.__qualname__ if isinstance(value, type) else value,
)
def test_every_subclass_of_a_category_base_keeps_its_category(base, category):
    """Mixins (``charge_id``/``code`` carriers) never take a subclass out of its billing base's category."""
    subclasses = [cls for cls in CLASSES if issubclass(cls, base)]
    assert subclasses
    assert {cls.__qualname__: category_of(cls) for cls in subclasses} == {cls.__qualname__: category for cls in subclasses}
