"""Errors raised while reading or validating a subscription."""

from __future__ import annotations

from subscriptions.display import MESSAGE_LIMIT, elide


class SubscriptionError(Exception):
    """Base class of every error of the ``subscriptions`` package."""


class SubscriptionValidationError(SubscriptionError, ValueError):
    """Invalid subscription input. The message names the offending object and field.

    The message stays short whatever the input: values are quoted through ``subscriptions.display``
    where the message is written, and the object, field and message are cut here as a last resort.
    """

    def __init__(self, message: str, *, obj: str | None = None, field: str | None = None) -> None:
        self.obj = elide(obj, 200) if obj else obj
        self.field = elide(field, 200) if field else field
        parts = [p for p in (self.obj, self.field) if p]
        prefix = ": ".join(parts)
        super().__init__(elide(f"{prefix}: {message}" if prefix else message, MESSAGE_LIMIT))
