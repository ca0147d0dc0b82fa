"""HTTP endpoints of the segment integration (public: authenticated by its own scheme)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["segment"])
