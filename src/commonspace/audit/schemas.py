"""What the API returns from the audit trail."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AccessOut(BaseModel):
    at: datetime
    action: str
    object_type: str
    object_uuid: str | None
    member: str | None
    organisation: str | None
    api_key_id: int | None
    via: str
