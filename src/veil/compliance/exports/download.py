"""Serving an export file: the one streamed answer that the API and the UI both give."""

from __future__ import annotations

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from veil.compliance.exports import service
from veil.errors import ExportExpired, ExportNotReady
from veil.runtime import Runtime


def stream_export(
    session: Session, *, runtime: Runtime, workspace_id: str, export_id: str, actor: str
) -> StreamingResponse:
    """The decrypted file as a download, audited as `actor`'s (service.download).

    Raises ExportExpired or ExportNotReady after committing what the service did on the way
    (a file destroyed at its expiry, an unreadable file queued for rebuilding).
    """
    try:
        prepared = service.download(
            session,
            runtime=runtime,
            workspace_id=workspace_id,
            export_id=export_id,
            actor=actor,
        )
    except (ExportExpired, ExportNotReady):
        session.commit()
        raise
    # The session commits (status `downloaded`, audit entry) before the body is sent; the
    # file was authenticated in full already and its descriptor is open, so a sweep that
    # expires it in between cannot cut the stream short.
    return StreamingResponse(
        prepared.chunks,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{prepared.filename}"',
            "Content-Length": str(prepared.size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
