"""Cursor pagination: an opaque token holding the last id of the previous page."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Generic, TypeVar

from commonspace.domain.errors import Invalid

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


MAX_ID = 2**63 - 1  # the largest id a database column holds (a larger one fails in the query)


def row_id(text: str) -> int:
    """An id read from a cursor; ValueError unless it is one a row could have."""
    number = int(text)
    if not 0 <= number <= MAX_ID:
        raise ValueError(text)
    return number


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "id":
            raise ValueError(text)
        return row_id(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("the cursor is not one this server gave out", field="cursor") from exc


@dataclass(frozen=True)
class NumberedPage(Generic[T]):
    """One page of a list counted in full: for pages that show "page 3 of 12" (numbered, not cursored)."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))
