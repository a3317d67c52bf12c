"""Turning validation failures into messages shown next to form fields."""

from __future__ import annotations

from pydantic import ValidationError

from commonspace.domain.errors import CommonspaceError


def field_errors(exc: ValidationError | CommonspaceError, default: str = "") -> dict[str, str]:
    """``{field name: message}``; an error naming no field goes under ``default``."""
    if isinstance(exc, CommonspaceError):
        return {exc.field or default: exc.message}
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else default
        errors.setdefault(name, str(error.get("msg", "invalid")).removeprefix("Value error, "))
    return errors
