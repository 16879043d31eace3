"""Errors of the billing system. Each carries the objects it concerns in its message."""

from __future__ import annotations


class BillingError(Exception):
    """Base class of every billing error."""


class BillingValidationError(BillingError, ValueError):
    """Bad input to a billing operation (malformed value, unknown enum, inverted period)."""


class NotFoundError(BillingError, LookupError):
    """A referenced customer, invoice, line, group, charge, meter or purchase does not exist."""


class IllegalTransitionError(BillingError):
    """A lifecycle step that is not allowed from the current status. Nothing was changed."""

    def __init__(self, message: str, *, status: str | None = None, trigger: str | None = None) -> None:
        self.status = status
        self.trigger = trigger
        super().__init__(message)


class ConflictError(BillingError):
    """An operation conflicts with what is persisted (immutable target, another invoice or line)."""


class StoreIntegrityError(BillingError):
    """The store refused a write that would break an integrity rule (e.g. a duplicate live identity)."""


class SyncError(Exception):
    """Base of every error of a subscription sync (reconciler.md §10.1).

    Lives in ``billing`` because it is the one package every sync-side package (persistedstate,
    patches, reconciler, subsync) may import. ``str(error)`` names the subscription and identity.
    """

    def __init__(
        self,
        message: str,
        *,
        namespace: str | None = None,
        subscription_id: str | None = None,
        customer_id: str | None = None,
        identity: str | None = None,
    ) -> None:
        self.namespace = namespace
        self.subscription_id = subscription_id
        self.customer_id = customer_id
        self.identity = identity
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ", ".join(
            f"{label} {value}"
            for label, value in (("subscription", self.subscription_id), ("identity", self.identity))
            if value
        )
        return f"{self.message} ({where})" if where else self.message


class NothingToInvoiceError(BillingValidationError):
    """``invoice_pending_lines`` found no gathering line collectable as of the given time."""
