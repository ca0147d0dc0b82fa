"""Identity resolution (SPEC §2): normalisation, lookup order, uniqueness among active profiles."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.fixtures.factories import WorkspaceHandle
from veil.errors import ValidationFailed
from veil.models import Profile
from veil.profiles import service
from veil.runtime import Runtime


def _upsert(runtime: Runtime, ws: WorkspaceHandle, **ids: str) -> tuple[str, bool]:
    with runtime.sessionmaker.begin() as session:
        identity = service.Identity.parse(region="US", **ids)
        profile, created = service.upsert(
            session, workspace_id=ws.id, data=service.ProfileInput(identity=identity)
        )
        return profile.id, created


def test_email_is_trimmed_and_lowercased(runtime: Runtime, ws: WorkspaceHandle) -> None:
    first, created = _upsert(runtime, ws, email="  Ada@Example.COM ")
    again, created_again = _upsert(runtime, ws, email="ada@example.com")
    assert created and not created_again
    assert first == again


def test_phone_is_normalised_to_e164_with_the_workspace_region(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    first, _ = _upsert(runtime, ws, phone="(415) 555-0132")
    again, created = _upsert(runtime, ws, phone="+1 415 555 0132")
    assert first == again and not created
    with runtime.sessionmaker() as session:
        assert session.get(Profile, first).phone == "+14155550132"  # type: ignore[union-attr]


def test_unparseable_phone_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed):
        service.Identity.parse(region="US", phone="call me maybe")


def test_lookup_order_prefers_external_id(runtime: Runtime, ws: WorkspaceHandle) -> None:
    by_email, _ = _upsert(runtime, ws, email="grace@example.com")
    by_ext, _ = _upsert(runtime, ws, external_id="cust-7")
    with runtime.sessionmaker() as session:
        found = service.resolve(
            session,
            workspace_id=ws.id,
            identity=service.Identity(external_id="cust-7", email="grace@example.com"),
        )
        assert found is not None and found.id == by_ext != by_email


def test_twenty_threads_upserting_one_new_email_create_exactly_one_profile(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    barrier = threading.Barrier(20)
    ids: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            ids.append(_upsert(runtime, ws, email="race@example.com")[0])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 1
    with runtime.sessionmaker() as session:
        count = session.scalar(
            select(func.count()).select_from(Profile).where(Profile.email == "race@example.com")
        )
    assert count == 1
