"""HTTP: export and deletion requests (SPEC §4, §5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compliance"])
