"""The benchmark scenarios of issue 7; each returns result rows for one backend."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.backends import Installation
from bench.config import Sizes
from bench.datagen import (
    Generator,
    Person,
    clone_events,
    clone_recipients,
    insert_rows,
    seed_contact,
)
from bench.measure import Row
from veil.models import Consent, Profile

# Histories longer than this are generated once and then copied inside the database.
GENERATED_MAX = 100_000


@dataclass
class Context:
    inst: Installation
    sizes: Sizes
    work: Path
    profile: bool = False  # write a pyinstrument profile of the slowest job
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True)

    @property
    def backend(self) -> str:
        return self.inst.backend

    def row(self, scenario: str, case: str, **kwargs: Any) -> Row:
        return Row(scenario=scenario, backend=self.backend, case=case, **kwargs)


def seed_history(
    ctx: Context,
    gen: Generator,
    *,
    index: int,
    events: int,
    recipients: int = 0,
    campaigns: list[dict[str, Any]] | None = None,
    tag: str = "p",
) -> Person:
    """One contact with `events` events: up to GENERATED_MAX generated, the rest copies."""
    generated = min(events, GENERATED_MAX)
    seeded = seed_contact(
        ctx.inst.engine,
        gen,
        index=index,
        events=generated,
        recipients=recipients,
        campaigns=campaigns,
        tag=tag,
    )
    person = seeded.people[0]
    copies, rest = divmod(events - generated, generated)
    if rest:
        raise ValueError("history sizes above GENERATED_MAX are multiples of it")
    for copy in range(1, copies + 1):
        clone_events(
            ctx.inst.engine,
            workspace_id=gen.workspace_id,
            source_profile_id=person.profile_id,
            target_profile_id=person.profile_id,
            tag=f"x{copy:03d}",
            copy=copy,
            generated_only=True,
        )
    return person


def new_profile_like(ctx: Context, gen: Generator, person: Person) -> Person:
    """An active profile with the same identifiers as `person` (whose row must no longer be
    active), consents included: a fresh data subject to erase."""
    twin = Person(**{**person.__dict__, "profile_id": gen.ids("prf")})
    insert_rows(ctx.inst.engine, Profile.__table__, [gen.profile_row(twin)])
    insert_rows(ctx.inst.engine, Consent.__table__, gen.consent_rows(twin))
    return twin


def fresh_copy(ctx: Context, gen: Generator, template: Person, *, tag: str) -> Person:
    """A new active profile like `template` (retired), with a copy of its recipient records
    and events: a whole data subject to erase, seeded inside the database."""
    subject = new_profile_like(ctx, gen, template)
    for clone in (clone_recipients, clone_events):
        clone(
            ctx.inst.engine,
            workspace_id=gen.workspace_id,
            source_profile_id=template.profile_id,
            target_profile_id=subject.profile_id,
            tag=tag,
        )
    return subject


def retire(ctx: Context, workspace_id: str, profile_id: str) -> None:
    """Take a template profile out of identity matching (status only; its data stays)."""
    with ctx.inst.engine.begin() as conn:
        conn.execute(
            text("UPDATE profiles SET status = 'deleted' WHERE id = :id AND workspace_id = :ws"),
            {"id": profile_id, "ws": workspace_id},
        )
