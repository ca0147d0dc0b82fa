"""Tracking's one query: the recipient record a token names.

Not scoped to a workspace by a caller: the unguessable, unique token is the credential, and
it determines the workspace (every later query uses the record's own workspace_id).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from veil.models import Recipient

# Tokens are secrets.token_urlsafe(): anything else cannot be one (and NUL would upset PG).
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def recipient_by_token(session: Session, token: str) -> Recipient | None:
    if not _TOKEN.match(token):
        return None
    return session.scalar(select(Recipient).where(Recipient.token == token))
