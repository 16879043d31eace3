"""Errors of the charges backend (charges.md §0.3).

Each class subclasses the billing error of the same category, so ``subsync.errors`` maps it without
knowing about charges: ``ChargeValidationError`` → ValidationError, ``PreconditionFailed`` →
IllegalTransitionError, ``ChargeConflictError`` → ConflictError, ``ChargeNotFoundError`` →
NotFoundError. Every message names the charge (and the trigger, status, line or field concerned);
``code`` carries the stable snake_case code of §0.3 where one applies.
"""

from __future__ import annotations

from billing.errors import BillingValidationError, ConflictError, IllegalTransitionError, NotFoundError


class ChargeError(Exception):
    """Mixin: the charge an error concerns and its stable code."""

    charge_id: str | None = None
    code: str | None = None


class ChargeValidationError(ChargeError, BillingValidationError):
    """Malformed input: an invalid intent or patch, an unknown trigger, a missing argument (400)."""

    def __init__(self, message: str, *, charge_id: str | None = None, field: str | None = None,
                 code: str | None = None) -> None:
        self.charge_id, self.field, self.code = charge_id, field, code
        super().__init__(message)


class PreconditionFailed(ChargeError, IllegalTransitionError):
    """A trigger not allowed in the charge's current status, or "retry after billing advances" (412).

    Nothing was changed.
    """

    def __init__(self, message: str, *, charge_id: str | None = None, status: str | None = None,
                 trigger: str | None = None, code: str | None = None) -> None:
        self.charge_id, self.code = charge_id, code
        super().__init__(message, status=status, trigger=trigger)


class ChargeConflictError(ChargeError, ConflictError):
    """A unique-constraint violation or an event naming another invoice or line (409)."""

    def __init__(self, message: str, *, charge_id: str | None = None, code: str | None = None) -> None:
        self.charge_id, self.code = charge_id, code
        super().__init__(message)


class ChargeNotFoundError(ChargeError, NotFoundError):
    """A charge that is missing or not owned by the given customer or namespace (404)."""

    def __init__(self, message: str, *, charge_id: str | None = None) -> None:
        self.charge_id = charge_id
        super().__init__(message)


class ChargeAdvanceLimitError(ChargeError, BillingValidationError):
    """The invoice-patch loop of ``apply_patches`` / the advance pass needed more than 100 rounds."""

    def __init__(self, message: str, *, customer_id: str | None = None) -> None:
        self.customer_id = customer_id
        super().__init__(message)
