"""HTTP: export and deletion requests (SPEC §4, §5), suppressions and retention (§9)."""

from __future__ import annotations

from fastapi import APIRouter

from veil.compliance.deletions.endpoints import router as deletions_router
from veil.compliance.exports.endpoints import router as exports_router
from veil.compliance.privacy_requests.endpoints import router as privacy_requests_router
from veil.compliance.privacy_requests.opendsr import router as opendsr_router
from veil.compliance.restrictions.endpoints import router as restrictions_router
from veil.compliance.retention.endpoints import router as retention_router
from veil.compliance.suppressions.endpoints import router as suppressions_router

router = APIRouter()
router.include_router(exports_router)
router.include_router(deletions_router)
router.include_router(privacy_requests_router)
router.include_router(opendsr_router)
router.include_router(suppressions_router)
router.include_router(restrictions_router)
router.include_router(retention_router)
