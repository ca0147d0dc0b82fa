"""The Segment-compatible tracking API (SPEC §3): messages → profile upserts and events.

Mapping: `userId` → external_id, `anonymousId` → anonymous_id (alone: an anonymous,
non-contact profile); traits `email`, `phone`, `firstName`/`first_name`,
`lastName`/`last_name` → profile fields, every other trait → profile properties. Traits come
from `traits` (identify) and from `context.traits` (every call: RudderStack's identify sends
them only there), the message's own `traits` winning.

- identify → profile upsert;  track → event named by `event`;
- page → `Viewed Page`, screen → `Viewed Screen` (the call's `name`/`category` join the
  properties);  alias and group → accepted, nothing stored (Veil has no groups, and merging
  profiles is an admin's decision, not a tracking call's).

Time: Segment's clock-skew correction, timestamp = receivedAt - (sentAt - originalTimestamp),
where the original timestamp is the message's `originalTimestamp` or `timestamp` and `sentAt`
is the message's or the batch's. Without sentAt the client's time is taken as it is; without
any time, receivedAt.

`messageId` is de-duplicated per workspace (veil.integrations.dedup): a message seen before is
skipped. A batch is all or nothing, like POST /api/v1/events/batch: the first bad message
rejects it, its index in the error message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from veil.errors import PayloadTooLarge, ValidationFailed, VeilError
from veil.events.service import MAX_BATCH, BatchWriter, EventInput, ProfileRef, validate
from veil.integrations import dedup
from veil.kit.time import MAX_YEAR, MIN_YEAR, TimeOutOfRange, parse_rfc3339

ORIGIN = "segment"
KB = 1024
# Segment's documented limits: 32 KB per call, 500 KB per batch request.
MAX_MESSAGE_BYTES = 32 * KB
MAX_BATCH_BYTES = 500 * KB
MAX_ID = 255

TYPES = ("identify", "track", "page", "screen", "alias", "group")
EVENT_TYPES = {"page": "Viewed Page", "screen": "Viewed Screen"}
_EMAIL_TRAITS = ("email",)
_PHONE_TRAITS = ("phone",)
_FIRST_NAME_TRAITS = ("firstName", "first_name")
_LAST_NAME_TRAITS = ("lastName", "last_name")
_PROFILE_TRAITS = (*_EMAIL_TRAITS, *_PHONE_TRAITS, *_FIRST_NAME_TRAITS, *_LAST_NAME_TRAITS)


@dataclass
class Message:
    """One call, checked and mapped; `label` names it in error messages (`batch[3]`)."""

    label: str
    type: str
    message_id: str | None
    ref: ProfileRef
    timestamp: datetime
    event: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0


def _fail(label: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{label}: {message}" if label else message)


def _optional_id(value: Any, label: str, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(label, f"{name} must be a string.")
    text = str(value).strip()
    if len(text) > MAX_ID:
        raise _fail(label, f"{name} is longer than {MAX_ID} characters.")
    return text or None


def _optional_object(value: Any, label: str, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(label, f"{name} must be a JSON object.")
    return value


def _optional_text(value: Any, label: str, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(label, f"{name} must be a string.")
    return value.strip() or None


def _time(value: Any, label: str, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(label, f"{name} must be an ISO-8601 date string.")
    try:
        return parse_rfc3339(value)
    except TimeOutOfRange:
        raise _fail(label, f"{name} is out of range (years {MIN_YEAR} to {MAX_YEAR}).") from None
    except ValueError:
        raise _fail(label, f"{name} is not an ISO-8601 date.") from None


def corrected_timestamp(
    original: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Segment's clock-skew correction: receivedAt - (sentAt - originalTimestamp)."""
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return original + (received_at - sent_at)


def _first(traits: dict[str, Any], names: tuple[str, ...], label: str) -> str | None:
    for name in names:
        value = traits.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise _fail(label, f"traits.{name} must be a string.")
            return str(value)
    return None


def _profile_ref(message: dict[str, Any], traits: dict[str, Any], label: str) -> ProfileRef:
    user_id = _optional_id(message.get("userId"), label, "userId")
    anonymous_id = _optional_id(message.get("anonymousId"), label, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise _fail(label, "userId or anonymousId is required.")
    return ProfileRef(
        external_id=user_id,
        anonymous_id=anonymous_id,
        email=_first(traits, _EMAIL_TRAITS, label),
        phone=_first(traits, _PHONE_TRAITS, label),
        first_name=_first(traits, _FIRST_NAME_TRAITS, label),
        last_name=_first(traits, _LAST_NAME_TRAITS, label),
        traits={k: v for k, v in traits.items() if k not in _PROFILE_TRAITS},
    )


def parse_message(
    raw: Any,
    *,
    label: str,
    kind: str | None,
    received_at: datetime,
    batch_sent_at: datetime | None = None,
) -> Message:
    """Check and map one call. `kind` is the endpoint's type (None inside /v1/batch)."""
    if not isinstance(raw, dict):
        raise _fail(label, "each message must be a JSON object.")
    message_type = kind or raw.get("type")
    if not isinstance(message_type, str) or message_type not in TYPES:
        raise _fail(label, "type must be one of " + ", ".join(TYPES) + ".")
    context = _optional_object(raw.get("context"), label, "context")
    traits = {
        **_optional_object(context.get("traits"), label, "context.traits"),
        **_optional_object(raw.get("traits"), label, "traits"),
    }
    message_id = _optional_id(raw.get("messageId"), label, "messageId")
    original = _time(raw.get("originalTimestamp"), label, "originalTimestamp") or _time(
        raw.get("timestamp"), label, "timestamp"
    )
    sent_at = _time(raw.get("sentAt"), label, "sentAt") or batch_sent_at
    message = Message(
        label=label,
        type=message_type,
        message_id=message_id,
        ref=_profile_ref(raw, traits, label),
        timestamp=corrected_timestamp(original, sent_at, received_at),
    )
    if message_type == "track":
        event = _optional_text(raw.get("event"), label, "event")
        if event is None:
            raise _fail(label, "event is required for a track call.")
        message.event = event
        message.properties = _optional_object(raw.get("properties"), label, "properties")
    elif message_type in EVENT_TYPES:
        message.event = EVENT_TYPES[message_type]
        properties = dict(_optional_object(raw.get("properties"), label, "properties"))
        for name in ("name", "category"):
            value = _optional_text(raw.get(name), label, name)
            if value is not None:
                properties.setdefault(name, value)
        message.properties = properties
    return message


def _encoded_size(item: Any) -> int:
    try:
        return len(orjson.dumps(item))
    except TypeError:  # an integer beyond 64 bits: the stdlib sizes it, check_properties refuses it
        return len(json.dumps(item).encode())


def parse_call(payload: dict[str, Any], *, kind: str, received_at: datetime) -> list[Message]:
    return [parse_message(payload, label="", kind=kind, received_at=received_at)]


def parse_batch(payload: dict[str, Any], *, received_at: datetime) -> list[Message]:
    items = payload.get("batch")
    if not isinstance(items, list) or not items:
        raise ValidationFailed("batch must be a non-empty list of messages.")
    if len(items) > MAX_BATCH:
        raise ValidationFailed(f"A batch holds at most {MAX_BATCH} messages.")
    sent_at = _time(payload.get("sentAt"), "", "sentAt")
    context = _optional_object(payload.get("context"), "", "context")
    messages: list[Message] = []
    for index, item in enumerate(items):
        label = f"batch[{index}]"
        if _encoded_size(item) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"{label} is larger than 32 KB, Segment's limit for one message.")
        if context and isinstance(item, dict):
            # A batch-level context applies to every message that has none of its own.
            item = {"context": context, **item}
        messages.append(
            parse_message(
                item, label=label, kind=None, received_at=received_at, batch_sent_at=sent_at
            )
        )
    return messages


def ingest(session: Session, *, workspace_id: str, messages: list[Message]) -> IngestResult:
    """Apply the messages in order, in the caller's transaction (all or nothing).

    In bulk (events.service.BatchWriter): the messageIds are de-duplicated in one query, plain
    references resolved together, the events inserted with one executemany at the end. Each
    message is still checked and its profile resolved in its turn, so errors name the same
    message and an identify before a track leaves the profile as it did call by call.
    """
    writer = BatchWriter(session, workspace_id=workspace_id)
    ids = [m.message_id for m in messages if m.message_id is not None]
    first = dedup.first_deliveries(
        session, workspace_id=workspace_id, scope=dedup.SEGMENT, keys=ids
    )
    result = IngestResult()
    to_apply: list[Message] = []
    for message in messages:
        if message.message_id is not None:
            if message.message_id not in first:
                result.duplicates += 1
                continue
            first.discard(message.message_id)  # a repeat later in the batch is a duplicate
        to_apply.append(message)
    writer.look_up_message_ids([m.message_id for m in to_apply if m.message_id is not None])
    # Only the profiles that call by call would have been resolved (and touched): not those
    # of duplicates, of alias/group calls, or of events already stored under their messageId.
    writer.prefetch_profiles([m.ref for m in to_apply if _resolves(writer, m)])
    for message in to_apply:
        try:
            _apply(writer, message)
        except VeilError as exc:
            if not message.label:
                raise
            raise type(exc)(f"{message.label}: {exc.message}") from None
        result.accepted += 1
    writer.finish()
    return result


def _resolves(writer: BatchWriter, message: Message) -> bool:
    if message.type == "identify":
        return True
    return message.event is not None and not writer.delivered_before(message.message_id)


def _apply(writer: BatchWriter, message: Message) -> None:
    if message.type == "identify":
        # An identify states who the user is now: a changed email or phone replaces the old.
        message.ref.replace_contact = True
        writer.profile_id_for(message.ref, origin=ORIGIN)
    elif message.event is not None:
        item = EventInput(
            type=message.event,
            profile=message.ref,
            properties=message.properties,
            timestamp=message.timestamp,
            source=ORIGIN,
            message_id=message.message_id,
        )
        validate(item)
        writer.add(item, origin=ORIGIN)
    # alias and group: accepted, nothing stored (see the module docstring).
