"""Campaign open and click tracking (SPEC §3): `Opened Email`, `Clicked Email` / `Clicked SMS`.

- The event goes to the recipient's profile while it is active. Once that profile is deleted,
  the event lands on a NEW anonymous profile (SPEC §2) — never the tombstone, and never a
  profile rebuilt from the address on the recipient record (until the erasure job has run,
  that address is still the deleted person's). The new profile's anonymous id is
  `recipient:<recipient id>`, so later opens and clicks of the same message gather on it, and
  it shows in the campaign's recipient activity under its own id.
- Opens are de-duplicated: at most one `Opened Email` per recipient record per UTC day
  (mail clients and privacy proxies fetch the pixel again and again; a day says "opened
  again on another day" without counting reloads). Every valid click is recorded.
- A message whose profile was deleted WITH suppression (SPEC §9) records nothing at all: the
  GIF and the redirect are answered as usual, no event and no new profile.
- A click redirects only when `sig` is the HMAC of (token, url) that Veil put in the message
  (veil.campaigns.links): never an open redirect. A valid signature whose recipient record is
  gone (campaign deleted) still redirects, recording nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from veil.campaigns import links
from veil.campaigns.service import CLICKED, OPENED_EMAIL
from veil.compliance.suppressions import screening
from veil.errors import BadRequest, ProfileDeleted
from veil.events.service import EventInput, ProfileRef, record_event
from veil.integrations import dedup
from veil.integrations.tracking.repository import recipient_by_token
from veil.kit.crypto import Keyring
from veil.kit.time import utcnow
from veil.models import Recipient
from veil.models.profile import ACTIVE
from veil.profiles.repository import ProfileRepository

SOURCE = "tracking"
MAX_URL = 2048
_INVALID_LINK = "This tracking link is not valid."


def record_open(session: Session, *, token: str) -> bool:
    """Record an open of the message `token` names; False when unknown or already counted."""
    recipient = recipient_by_token(session, token)
    if recipient is None or screening.recipient_suppressed(
        session, recipient=recipient, source=SOURCE
    ):
        return False
    day = utcnow().date().isoformat()
    if not dedup.first_delivery(
        session,
        workspace_id=recipient.workspace_id,
        scope=dedup.EMAIL_OPEN,
        key=f"{recipient.id}:{day}",
    ):
        return False
    _record(session, recipient, OPENED_EMAIL, {})
    return True


def click_target(
    session: Session, *, keyring: Keyring, token: str, url: str | None, sig: str | None
) -> str:
    """The URL to redirect to, after recording the click; 400 for anything not signed by Veil."""
    if not url or not sig or len(url) > MAX_URL or len(sig) > 100 or len(token) > 64:
        raise BadRequest(_INVALID_LINK)
    if not links.verify_click(keyring, token, url, sig):
        raise BadRequest(_INVALID_LINK)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(_INVALID_LINK)
    recipient = recipient_by_token(session, token)
    if recipient is not None and not screening.recipient_suppressed(
        session, recipient=recipient, source=SOURCE
    ):
        _record(session, recipient, CLICKED.get(recipient.channel, CLICKED["email"]), {"url": url})
    return url


def _record(session: Session, recipient: Recipient, type: str, properties: dict[str, str]) -> None:
    profile = ProfileRepository(session, recipient.workspace_id).get(recipient.profile_id)
    refs = [ProfileRef(anonymous_id=f"recipient:{recipient.id}")]
    if profile is not None and profile.status == ACTIVE:
        refs.insert(0, ProfileRef(id=profile.id))
    for ref in refs:
        try:
            record_event(
                session,
                workspace_id=recipient.workspace_id,
                item=EventInput(
                    type=type,
                    profile=ref,
                    properties=dict(properties),
                    source=SOURCE,
                    campaign_id=recipient.campaign_id,
                    recipient_id=recipient.id,
                ),
                origin=SOURCE,
            )
            return
        except ProfileDeleted:
            continue  # deleted between the read and the write: the new profile takes it
