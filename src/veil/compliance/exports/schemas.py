"""Export API shapes: one export request (a row of the "Downloaded" table) and its page."""

from __future__ import annotations

from pydantic import BaseModel, Field

from veil.compliance.profile_request import ProfileRequestRead


class ExportRead(ProfileRequestRead):
    """One export request. name/email/phone come from the live profile (null once deleted)."""

    status: str = Field(description="pending, ready, downloaded, expired or failed")
    expires_at: str
    downloaded_at: str | None = Field(description="first download")
    due_at: str = Field(description="GDPR Art. 12(3) deadline: requested_at + one calendar month")
    overdue: bool = Field(description="due_at has passed and no file was made available")
    ready_at: str | None
    download_count: int
    event_count: int | None
    source: str
    attempts: int
    last_error: str | None = Field(description="error code of the last failed attempt")
    download_url: str | None


class ExportPage(BaseModel):
    data: list[ExportRead]
    next_cursor: str | None
