"""One vocabulary of domain errors. HTTP status codes are chosen in reach.api.errors only."""

from __future__ import annotations


class ReachError(Exception):
    """Base of every error Reach raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ReachError):
    """A request value is well-formed JSON but not acceptable; names the field at fault."""

    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class InvalidToken(InvalidInput):
    """A paging token this API did not issue for this listing, or one that was altered: the
    client should start the listing again rather than fix a field."""

    code = "invalid_next_token"

    def __init__(self, reason: str, field: str = "next_token") -> None:
        super().__init__(field, reason)


class NotFound(ReachError):
    """The thing does not exist for this tenant (other tenants' data is indistinguishable)."""

    code = "not_found"


class Conflict(ReachError):
    """The request contradicts the current state (wrong version, cancelled appointment...).

    ``field`` names the request field that clashes with what is stored, when one does (an
    ``external_id`` already used, a note that differs from the one recorded); the message
    then starts with it, and ``reason`` is the rest.
    """

    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message if field is None else f"{field}: {message}")
        self.field = field
        self.reason = message


class Unauthorized(ReachError):
    """No usable credentials."""

    code = "unauthorized"


class Forbidden(ReachError):
    """Credentials were recognised but may not be used (revoked key)."""

    code = "forbidden"
