"""The columns an export and a deletion request share in their API rows: one profile, who
asked and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from veil.kit.time import rfc3339
from veil.models import DeletionRequest, ExportRequest


@dataclass(frozen=True)
class Contact:
    """The name, email and phone a request's row shows for its subject (None: not shown)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None


class ProfileRequestRead(BaseModel):
    """A request about one profile. name/email/phone: see each subclass for where they come from."""

    id: str
    profile_id: str
    name: str | None
    email: str | None
    phone: str | None
    requested_at: str
    requested_by: str

    @staticmethod
    def shared_fields(request: DeletionRequest | ExportRequest, contact: Contact) -> dict[str, Any]:
        """The values of the fields above, for a subclass's constructor."""
        return {
            "id": request.id,
            "profile_id": request.profile_id,
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "requested_at": rfc3339(request.requested_at) or "",
            "requested_by": request.requested_by,
        }
