"""The identifier_history migration on existing data (SQLite, and PostgreSQL when it is the
test backend): previous emails and phones are reconstructed from recipient records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select

from tests.conftest import empty_database, make_settings
from tests.fixtures.factories import make_campaign, make_profile, make_recipient, make_workspace
from veil.kit.time import utcnow
from veil.models import ProfileIdentifier
from veil.runtime import Runtime
from veil.schema import alembic_config


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the test backend, for this test alone."""
    with empty_database(tmp_path, prefix="veil_mig") as url:
        yield url


def _before(revision: str) -> str:
    down = ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def _upgrade(runtime: Runtime, revision: str) -> None:
    config = alembic_config()
    with runtime.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def test_previous_emails_and_phones_are_rebuilt_from_recipient_records(
    scratch_url: str, tmp_path: Path
) -> None:
    runtime = Runtime(make_settings(tmp_path / "data", scratch_url))
    try:
        _upgrade(runtime, _before("identifier_history"))  # the schema before the history
        ws = make_workspace(runtime)
        sent = utcnow().replace(microsecond=0) - timedelta(days=30)
        with runtime.sessionmaker.begin() as session:
            mail = make_campaign(session, workspace_id=ws.id)
            sms = make_campaign(session, workspace_id=ws.id, channel="sms")
            ada = make_profile(session, workspace_id=ws.id, email="Old@Example.com")
            ada.phone = "+14155550132"
            for days in (3, 1):  # two messages to the old address: one row, the last send
                make_recipient(session, campaign=mail, profile=ada, sent_at=sent + timedelta(days))
            make_recipient(session, campaign=sms, profile=ada, sent_at=sent)
            make_recipient(session, campaign=mail, profile=ada, sent_at=sent)
            ada.email, ada.phone = "new@example.com", "+14155550199"
            make_recipient(session, campaign=mail, profile=ada)  # the current one: no history
            same = make_profile(session, workspace_id=ws.id, email="same@example.com")
            make_recipient(session, campaign=mail, profile=same)
            gone = make_profile(session, workspace_id=ws.id, email="gone-new@example.com")
            gone.status = "deleted"
            erased = make_recipient(session, campaign=mail, profile=gone)
            erased.email = "gone-old@example.com"
            ids = (ada.id, same.id, gone.id)

        _upgrade(runtime, "head")

        with runtime.sessionmaker() as session:
            rows = session.scalars(select(ProfileIdentifier).order_by(ProfileIdentifier.type)).all()
        assert [(r.profile_id, r.type, r.value) for r in rows] == [
            (ids[0], "email", "old@example.com"),
            (ids[0], "phone", "+14155550132"),
        ]
        assert rows[0].until == sent + timedelta(days=3)
        assert rows[1].until == sent
        assert all(r.workspace_id == ws.id and r.id.startswith("pid_") for r in rows)
    finally:
        runtime.dispose()
