"""HTTP: export and deletion requests (SPEC §4, §5)."""

from __future__ import annotations

from fastapi import APIRouter

from veil.compliance.deletions.endpoints import router as deletions_router
from veil.compliance.exports.endpoints import router as exports_router
from veil.compliance.privacy_requests.endpoints import router as privacy_requests_router
from veil.compliance.privacy_requests.opendsr import router as opendsr_router

router = APIRouter()
router.include_router(exports_router)
router.include_router(deletions_router)
router.include_router(privacy_requests_router)
router.include_router(opendsr_router)
