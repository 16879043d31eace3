"""Errors of credit purchases (charges.md §0.3). Each names the charge (and invoice or line) it concerns.

They subclass the charges errors (``billing.charges.errors``), so a caller that catches
``PreconditionFailed`` catches a purchase's too, and ``subsync.errors`` gives each a category:

| class | spec class | category |
|---|---|---|
| ``PurchaseValidationError`` | ``ValidationError`` (400) | ValidationError |
| ``PurchasePreconditionFailed`` | ``PreconditionFailed`` (412) | IllegalTransitionError |
| ``PurchaseConflictError`` | ``ConflictError`` (409) | ConflictError |
| ``PurchaseNotFoundError`` | ``NotFoundError`` (404) | NotFoundError |

``code`` carries the stable snake_case code of §0.3 where the spec gives one, ``field`` the input path.
"""

from __future__ import annotations

from billing.charges.errors import ChargeConflictError, ChargeNotFoundError, ChargeValidationError, PreconditionFailed


def _render(message: str, code: str | None, charge_id: str | None, field: str | None) -> str:
    parts = [message]
    details = ", ".join(
        f"{label} {value}" for label, value in (("charge", charge_id), ("field", field), ("code", code)) if value
    )
    if details:
        parts.append(f"({details})")
    return " ".join(parts)


class PurchaseValidationError(ChargeValidationError):
    """Malformed input, an invalid intent, an unsupported trigger, a mismatching invoice event."""

    def __init__(self, message: str, *, code: str | None = None, charge_id: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(_render(message, code, charge_id, field), charge_id=charge_id, field=field, code=code)


class PurchasePreconditionFailed(PreconditionFailed):
    """A trigger not allowed in the current status, an unresolved cost basis, a voided purchase."""

    def __init__(self, message: str, *, code: str | None = None, charge_id: str | None = None,
                 status: str | None = None, trigger: str | None = None) -> None:
        super().__init__(_render(message, code, charge_id, None), charge_id=charge_id, status=status,
                         trigger=trigger, code=code)


class PurchaseConflictError(ChargeConflictError):
    """A unique fact already exists (key, grant, payment, link, line) or an event names another invoice."""

    def __init__(self, message: str, *, code: str | None = None, charge_id: str | None = None) -> None:
        super().__init__(_render(message, code, charge_id, None), charge_id=charge_id, code=code)


class PurchaseNotFoundError(ChargeNotFoundError):
    """A purchase (or currency cost basis) that does not exist or belongs to another customer or namespace."""

    def __init__(self, message: str, *, charge_id: str | None = None) -> None:
        super().__init__(_render(message, None, charge_id, None), charge_id=charge_id)
