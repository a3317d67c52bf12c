"""The errors services raise; the web layer turns each into one HTTP status and a JSON body."""

from __future__ import annotations


class CommonspaceError(Exception):
    """Base: carries a stable machine code and a human message."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(CommonspaceError):
    """Absent, or present but not visible to the subject: the two must look the same."""

    code = "not_found"
    status = 404


class Forbidden(CommonspaceError):
    """Visible, but the subject may not do this to it."""

    code = "forbidden"
    status = 403


class Unauthenticated(CommonspaceError):
    code = "unauthenticated"
    status = 401


class Invalid(CommonspaceError):
    """Input that breaks a rule; ``field`` names the field path when there is one."""

    code = "invalid"
    status = 422


class Conflict(CommonspaceError):
    code = "conflict"
    status = 409


class TooLarge(CommonspaceError):
    """A request body (an upload) larger than this instance accepts."""

    code = "too_large"
    status = 413
