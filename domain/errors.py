"""Errors the domain raises: values with a kind and a message a person can act on.

The HTTP edge maps each kind to a status code once (``api/errors.py``); nothing here knows HTTP.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    title = "Request refused"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a rule."""

    title = "Invalid input"


class NotFound(DomainError):
    title = "Not found"


class Unauthenticated(DomainError):
    """No credentials, or credentials that are expired, revoked or malformed."""

    title = "Authentication required"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    title = "Forbidden"


class Conflict(DomainError):
    """The change clashes with the current state (a duplicate, a frozen record)."""

    title = "Conflict"


class PreconditionFailed(DomainError):
    """An ``If-Match`` did not match: someone else changed the record first."""

    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """A write to a versioned record came without ``If-Match``."""

    title = "Precondition required"


class RateLimited(DomainError):
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retryAfter=retry_after)
        self.retry_after = retry_after


class IdempotencyKeyReused(DomainError):
    """The same ``Idempotency-Key`` came with a different request."""

    title = "Idempotency key reused"
