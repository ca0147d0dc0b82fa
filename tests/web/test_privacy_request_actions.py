"""⋯ → Export / Delete in the UI create privacy requests with source `ui` (SPEC §8)."""

from __future__ import annotations

from sqlalchemy import select

from tests.fixtures.factories import make_profile
from veil.models import PrivacyRequest


def test_ui_actions_are_privacy_requests(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        exported = make_profile(session, workspace_id=ws.id, email="a@example.com").id
        erased = make_profile(session, workspace_id=ws.id, email="b@example.com").id
    assert admin.post(f"/profiles/{exported}/export").status_code == 303
    assert admin.post(f"/profiles/{erased}/delete", data={"confirm": "yes"}).status_code == 303
    with runtime.sessionmaker() as session:
        rows = session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.created_at)).all()
    assert [(r.type, r.source, r.profile_ids) for r in rows] == [
        ("access", "ui", [exported]),
        ("erasure", "ui", [erased]),
    ]
    assert rows[0].requested_by == "owner@acme.test"
