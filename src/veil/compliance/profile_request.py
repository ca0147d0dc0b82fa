"""The columns an export and a deletion request share in their API rows: one profile, who
asked and when."""

from __future__ import annotations

from pydantic import BaseModel


class ProfileRequestRead(BaseModel):
    """A request about one profile. name/email/phone: see each subclass for where they come from."""

    id: str
    profile_id: str
    name: str | None
    email: str | None
    phone: str | None
    requested_at: str
    requested_by: str
