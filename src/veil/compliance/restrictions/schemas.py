"""Restriction request shape."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RestrictionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Why processing is restricted (kept with the profile, shown to admins).",
    )
