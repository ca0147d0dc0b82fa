"""HTTP: campaign open pixel and click redirects (public: the token and the link signature
are the credentials). GET requests that write: they use a write transaction."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from veil.auth.deps import RuntimeDep, WriteSessionDep
from veil.errors import BadRequest, responses
from veil.integrations.tracking import service

router = APIRouter(tags=["tracking"])

# The smallest transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, private, max-age=0", "Pragma": "no-cache"}


@router.get(
    "/t/o/{token}",
    summary="Open pixel: a 1×1 GIF that records Opened Email",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A 1×1 transparent GIF."}},
)
def open_pixel(token: str, session: WriteSessionDep) -> Response:
    """Always the GIF (an unknown token records nothing): a mail client shows no broken image."""
    service.record_open(session, token=token)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get(
    "/t/c/{token}",
    summary="Click redirect: 302 to the signed URL, recording Clicked Email / Clicked SMS",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        302: {"description": "Redirect to the campaign's link."},
        **responses(BadRequest("url or sig missing, or the signature does not match.")),
    },
)
def click_redirect(
    token: str,
    session: WriteSessionDep,
    runtime: RuntimeDep,
    url: Annotated[str | None, Query(description="The destination, as signed.")] = None,
    sig: Annotated[str | None, Query(description="HMAC of (token, url).")] = None,
) -> RedirectResponse:
    target = service.click_target(
        session, keyring=runtime.link_keyring, token=token, url=url, sig=sig
    )
    return RedirectResponse(target, status_code=302, headers=_NO_STORE)
