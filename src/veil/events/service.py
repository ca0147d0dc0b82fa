"""Recording events: resolve the profile (SPEC §2), validate, store; batches are all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from veil.errors import NotFound, ProfileDeleted, ValidationFailed, VeilError
from veil.events.repository import EventRepository
from veil.kit.ids import new_id
from veil.kit.jsonwalk import properties_json
from veil.kit.pagination import PageParams
from veil.kit.repository import WorkspaceRepository
from veil.kit.time import TimeOutOfRange, as_utc, check_time_range, utcnow
from veil.models import Event, Profile
from veil.models.profile import ACTIVE
from veil.profiles import service as profiles
from veil.profiles.repository import ProfileRepository

SOURCES = ("api", "segment", "shopify", "tracking")
MAX_BATCH = 5000
MAX_TYPE_LENGTH = 200


@dataclass
class ProfileRef:
    """How an event names its profile: by id, or by identifiers to resolve."""

    id: str | None = None
    email: str | None = None
    phone: str | None = None
    external_id: str | None = None
    anonymous_id: str | None = None
    # Optional profile fields carried along (Segment traits, Shopify customer).
    first_name: str | None = None
    last_name: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    # A Segment identify: its email/phone replace the profile's (profiles.service.upsert).
    replace_contact: bool = False

    def identity(self, region: str) -> profiles.Identity:
        """The identifiers this reference names, normalised (phones in `region`'s format)."""
        return profiles.Identity.parse(
            region=region,
            email=self.email,
            phone=self.phone,
            external_id=self.external_id,
            anonymous_id=self.anonymous_id,
        )


@dataclass
class EventInput:
    type: str
    profile: ProfileRef
    properties: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    source: str = "api"
    campaign_id: str | None = None
    recipient_id: str | None = None
    message_id: str | None = None
    # `properties` as the JSON text to store, made by `validate` (the walk and the size
    # check measure exactly this text, so a bulk insert stores it without serialising again).
    stored_properties: str | None = None


def validate(item: EventInput) -> None:
    """Refuse an event that does not fit Veil's limits (type, properties, time, message id)."""
    if not item.type or not item.type.strip():
        raise ValidationFailed("type is required.")
    if len(item.type) > MAX_TYPE_LENGTH:
        raise ValidationFailed(f"type is longer than {MAX_TYPE_LENGTH} characters.")
    if "\x00" in item.type or "\x00" in (item.message_id or ""):
        raise ValidationFailed("type and messageId must not contain NUL characters.")
    if item.source not in SOURCES:
        raise ValidationFailed("source is not one of api, segment, shopify, tracking.")
    item.stored_properties = properties_json(item.properties)
    if item.timestamp is not None:
        try:
            ts = check_time_range(item.timestamp)
        except TimeOutOfRange:
            raise ValidationFailed(
                "timestamp is out of range (before 1970 or in the future)."
            ) from None
        if ts.year < 1970 or ts > utcnow() + timedelta(days=1):
            raise ValidationFailed("timestamp is out of range (before 1970 or in the future).")
    if item.message_id is not None and len(item.message_id) > 255:
        raise ValidationFailed("messageId is longer than 255 characters.")


def resolve_profile(
    session: Session, *, workspace_id: str, ref: ProfileRef, origin: str, region: str
) -> Profile:
    if ref.id is not None:
        profile = ProfileRepository(session, workspace_id).get(ref.id)
        if profile is None:
            raise NotFound("Profile not found.")
        if profile.status != ACTIVE:
            raise ProfileDeleted()
        return profile
    identity = ref.identity(region)
    if identity.is_empty():
        raise ValidationFailed("profile needs one of id, email, phone, external_id.")
    profile, _created = profiles.upsert(
        session,
        workspace_id=workspace_id,
        data=profiles.ProfileInput(
            identity=identity,
            first_name=ref.first_name,
            last_name=ref.last_name,
            properties=ref.traits,
        ),
        origin=origin,
        consent_source=origin,
        strict=False,
        replace_contact=ref.replace_contact,
    )
    return profile


class _Resolutions(WorkspaceRepository[Profile]):
    """Per-call memory of the workspace region and of profiles already resolved.

    A batch usually names the same few people many times; resolving each identity once per
    transaction turns thousands of lookups (and profile touches) into a handful. Only plain
    references are remembered: a reference that carries names or traits is upserted every time.
    """

    model = Profile

    def __init__(self, session: Session, workspace_id: str) -> None:
        super().__init__(session, workspace_id)
        self._region: str | None = None
        self._profiles: dict[tuple[str | None, ...], str] = {}  # reference -> profile id
        self._references: dict[str, list[tuple[str | None, ...]]] = {}  # the reverse

    @property
    def region(self) -> str:
        if self._region is None:
            self._region = profiles.workspace_region(self.session, self.workspace_id)
        return self._region

    @staticmethod
    def _key(ref: ProfileRef) -> tuple[str | None, ...]:
        return (ref.id, ref.email, ref.phone, ref.external_id, ref.anonymous_id)

    def prefetch(self, refs: list[ProfileRef]) -> None:
        """Resolve a batch's plain references in bulk: by id, and by their one identifier.

        For such a reference `resolve_profile` finds the profile and changes nothing but its
        `updated_at` (there are no names, traits or other identifiers to attach), so that
        is all done here, with one query per identifier kind instead of several per person.
        Anything else — several identifiers, no match yet (a new profile), an unparseable
        identifier, a deleted profile — is left to `profile_id_for`, which resolves it one by one
        and reports errors with the item's index.
        """
        by_id: dict[str, tuple[str | None, ...]] = {}
        by_identity: list[tuple[tuple[str | None, ...], profiles.Identity]] = []
        asked: set[tuple[str | None, ...]] = set()  # a batch names the same person many times
        for ref in refs:
            key = self._key(ref)
            if ref.first_name or ref.last_name or ref.traits or key in self._profiles:
                continue
            if key in asked:
                continue
            asked.add(key)
            if ref.id is not None:
                by_id[ref.id] = key
                continue
            try:
                identity = ref.identity(self.region)
            except VeilError:
                continue
            if len(identity.items()) == 1:
                by_identity.append((key, identity))
        # Ids only, and one UPDATE for the touch: no Profile objects to load and flush back.
        repo = ProfileRepository(self.session, self.workspace_id)
        for profile_id in repo.active_ids(by_id):
            self._remember(by_id[profile_id], profile_id)
        found = profiles.resolve_many(
            self.session,
            workspace_id=self.workspace_id,
            identities=[identity for _key, identity in by_identity],
        )
        touched: list[str] = []
        for (key, _identity), match in zip(by_identity, found, strict=True):
            if match is not None:
                touched.append(match)
                self._remember(key, match)
        if touched:
            repo.touch(touched, utcnow())

    def _remember(self, key: tuple[str | None, ...], profile_id: str) -> None:
        self._profiles[key] = profile_id
        self._references.setdefault(profile_id, []).append(key)

    def profile_id_for(self, ref: ProfileRef, *, origin: str) -> str:
        plain = not (ref.first_name or ref.last_name or ref.traits or ref.replace_contact)
        key = self._key(ref)
        if plain and key in self._profiles:
            return self._profiles[key]
        profile_id = resolve_profile(
            self.session,
            workspace_id=self.workspace_id,
            ref=ref,
            origin=origin,
            region=self.region,
        ).id
        if ref.replace_contact:
            # It may have replaced the profile's email or phone: a reference remembered by
            # the old value must be resolved again (it names nobody, or somebody else, now).
            for stale in self._references.pop(profile_id, []):
                self._profiles.pop(stale, None)
        if plain:
            self._remember(key, profile_id)
        return profile_id


def record_event(
    session: Session, *, workspace_id: str, item: EventInput, origin: str | None = None
) -> Event:
    return EventRecorder(session, workspace_id=workspace_id).record(item, origin=origin)


class EventRecorder(WorkspaceRepository[Event]):
    """Events recorded one after another in one transaction, each plain identity resolved once
    (a stream that mixes profile updates and events in bulk: BatchWriter)."""

    model = Event

    def __init__(self, session: Session, *, workspace_id: str) -> None:
        super().__init__(session, workspace_id)
        self._resolutions = _Resolutions(session, workspace_id)

    def record(self, item: EventInput, *, origin: str | None = None) -> Event:
        validate(item)
        return _record(self.session, self.workspace_id, item, origin, self._resolutions)


def _record(
    session: Session,
    workspace_id: str,
    item: EventInput,
    origin: str | None,
    resolutions: _Resolutions,
) -> Event:
    if item.message_id is not None:
        existing = EventRepository(session, workspace_id).by_message_id(item.message_id)
        if existing is not None:
            return existing  # delivered before: idempotent
    # A plain reference the bulk way (one lookup, one touch) rather than through `upsert`:
    # on SQLite this runs under the writer lock, where every statement is queued time.
    resolutions.prefetch([item.profile])
    profile_id = resolutions.profile_id_for(item.profile, origin=origin or item.source)
    event = Event(**_event_values(workspace_id, item, profile_id))
    session.add(event)
    return event


def _event_values(workspace_id: str, item: EventInput, profile_id: str) -> dict[str, Any]:
    return {
        "id": new_id("evt"),
        "workspace_id": workspace_id,
        "profile_id": profile_id,
        "type": item.type.strip(),
        "timestamp": as_utc(item.timestamp) if item.timestamp else utcnow(),
        "received_at": utcnow(),
        "properties": item.properties or {},
        "source": item.source,
        "campaign_id": item.campaign_id,
        "recipient_id": item.recipient_id,
        "message_id": item.message_id,
    }


class BatchWriter(WorkspaceRepository[Event]):
    """Events of one incoming batch, written together: profiles resolved in bulk, message ids
    checked in one query, one executemany INSERT at the end (`finish`).

    For callers that interleave profile updates and events (a Segment batch mixing identify
    and track calls): `profile_id_for` and `add` resolve in the order they are called, exactly as
    EventRecorder does; only the INSERT of the events waits for `finish`. Validation is the
    caller's (`validate`), so it can choose the order in which errors are reported.
    """

    model = Event

    def __init__(self, session: Session, *, workspace_id: str) -> None:
        super().__init__(session, workspace_id)
        self._resolutions = _Resolutions(session, workspace_id)
        self._seen: set[str] = set()
        self._rows: list[dict[str, Any]] = []

    def look_up_message_ids(self, message_ids: list[str]) -> None:
        """Which of these message ids earlier events carry, in one query (see `add`)."""
        # An id with a NUL fails `validate` before `add` asks; PostgreSQL refuses it even in
        # a query.
        self._seen = EventRepository(self.session, self.workspace_id).known_message_ids(
            [m for m in message_ids if "\x00" not in m]
        )

    def delivered_before(self, message_id: str | None) -> bool:
        """Whether `add` would skip an event with this message id (after look_up_message_ids)."""
        return message_id is not None and message_id in self._seen

    def prefetch_profiles(self, refs: list[ProfileRef]) -> None:
        """Resolve plain references in bulk (and touch their profiles), before their turn.

        Safe before any profile is touched: a plain reference names one identifier, and an
        identifier an active profile holds stays with it for the transaction (upserts never
        take an identifier from a profile or merge two; an identify that replaces a profile's
        email or phone forgets the references remembered for that profile), so resolving it
        now or at its turn finds the same profile; one not held yet is left to
        `profile_id_for` at its turn.
        """
        self._resolutions.prefetch(refs)

    def profile_id_for(self, ref: ProfileRef, *, origin: str) -> str:
        """Resolve (or create, SPEC §2) the profile a reference names, applying its traits."""
        return self._resolutions.profile_id_for(ref, origin=origin)

    def add(self, item: EventInput, *, origin: str | None = None) -> bool:
        """Queue one validated event; False when its message id was delivered before."""
        if item.message_id is not None:
            if item.message_id in self._seen:
                return False
            self._seen.add(item.message_id)
        profile_id = self._resolutions.profile_id_for(item.profile, origin=origin or item.source)
        row = _event_values(self.workspace_id, item, profile_id)
        stored = item.stored_properties
        row["properties"] = properties_json(item.properties) if stored is None else stored
        self._rows.append(row)
        return True

    def finish(self) -> None:
        """Insert the queued events (after the profiles they name are flushed)."""
        self.session.flush()
        # One executemany INSERT through the driver instead of a unit of work over thousands
        # of objects.
        EventRepository(self.session, self.workspace_id).insert_many(self._rows)
        self._rows = []


def record_batch(
    session: Session,
    *,
    workspace_id: str,
    items: list[EventInput],
    keep: Callable[[list[EventInput]], list[EventInput]] | None = None,
) -> int:
    """All or nothing: the first bad item rejects the batch, naming its index. `keep` then
    picks the items to record (suppression); returns how many were."""
    if len(items) > MAX_BATCH:
        raise ValidationFailed(f"A batch holds at most {MAX_BATCH} events.")
    for index, item in enumerate(items):
        try:
            validate(item)
        except VeilError as exc:
            raise type(exc)(f"events[{index}]: {exc.message}") from None
    # Errors keep naming the item's index in the batch as sent.
    index_of = {id(item): index for index, item in enumerate(items)}
    if keep is not None:
        items = keep(items)
    writer = BatchWriter(session, workspace_id=workspace_id)
    writer.prefetch_profiles([item.profile for item in items])
    # Delivered before (or earlier in this batch): idempotent, recorded once.
    writer.look_up_message_ids([item.message_id for item in items if item.message_id is not None])
    for item in items:
        try:
            writer.add(item)
        except VeilError as exc:
            raise type(exc)(f"events[{index_of[id(item)]}]: {exc.message}") from None
    writer.finish()
    return len(items)


def profile_events(
    session: Session,
    *,
    workspace_id: str,
    profile_id: str,
    type: str | None = None,
    page: PageParams,
) -> tuple[list[Event], str | None]:
    """A profile's events, newest first (also a deleted profile's scrubbed history)."""
    profiles.get_profile(session, workspace_id=workspace_id, profile_id=profile_id)
    repo = EventRepository(session, workspace_id)
    return repo.newest_first(page, repo.of_profile(profile_id, type=type))
