"""Turning validation failures into messages shown next to form fields."""

from __future__ import annotations

from pydantic import ValidationError

from commonspace.domain.errors import CommonspaceError


def field_errors(exc: ValidationError | CommonspaceError) -> dict[str, str]:
    """``{field name: message}``; a failure of the whole form is under ``""``."""
    if isinstance(exc, CommonspaceError):
        return {exc.field or "": exc.message}
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else ""
        errors.setdefault(name, str(error.get("msg", "invalid")).removeprefix("Value error, "))
    return errors
