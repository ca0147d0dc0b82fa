"""Form actions: call a service, then redirect with a toast — the service's own message when
it refuses. Errors roll the request's transaction back, so a refusal leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import Response

from veil.errors import VeilError
from veil.web.deps import WebContext
from veil.web.flash import Toast, redirect_with_toast


def as_signed_in(
    web: WebContext, call: Callable[..., object], **options: Any
) -> Callable[[], object]:
    """A service call in the signed-in user's workspace, audited as them."""
    return partial(
        call, web.session, workspace_id=web.me.workspace_id, actor=web.me.principal.actor, **options
    )


def run_action(
    web: WebContext,
    action: Callable[[], object],
    *,
    back: str,
    success: Toast,
    then: str | None = None,
    on_error: Callable[[VeilError], Toast] | None = None,
) -> Response:
    """`back` on a refusal, `then` (default `back`) on success."""
    try:
        action()
    except VeilError as exc:
        if exc.status == 404:
            raise  # a missing object (or another workspace's): the not-found page
        web.session.rollback()
        toast = on_error(exc) if on_error else Toast("error", exc.message)
        return redirect_with_toast(web.request, back, toast)
    return redirect_with_toast(web.request, then or back, success)
