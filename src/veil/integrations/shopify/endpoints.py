"""HTTP endpoints of the shopify integration (public: authenticated by its own scheme)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["shopify"])
