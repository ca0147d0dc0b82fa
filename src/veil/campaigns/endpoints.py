"""HTTP endpoints of the campaigns feature."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["campaigns"])
