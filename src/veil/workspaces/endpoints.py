"""HTTP endpoints of the workspaces feature."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["workspaces"])
