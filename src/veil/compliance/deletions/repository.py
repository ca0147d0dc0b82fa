"""Every deletion-request query, scoped to one workspace."""

from __future__ import annotations

from veil.kit.repository import WorkspaceRepository
from veil.models import DeletionRequest


class DeletionRepository(WorkspaceRepository[DeletionRequest]):
    model = DeletionRequest
    not_found = "Deletion request not found."
    newest_by = (DeletionRequest.requested_at, DeletionRequest.id)
