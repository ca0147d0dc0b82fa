"""Queue messages as JSON ids, never pickle.

huey pickles its messages by default, so anyone able to write to the queue's storage (a Redis
reachable on the network, the queue file) could run code in a worker. Veil's messages are only
ever "run job X on object Y" (huey's task name, args `(job name, object id)`), so they are
written as a small JSON object and read back through a strict shape check: anything else is
refused before a task is built (and an unknown task name is refused by huey's registry).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson
from huey.registry import Message
from huey.serializer import Serializer

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


class UnsafeMessage(ValueError):
    """A queue message that is not one of Veil's JSON messages (pickle, garbage, other tasks)."""


class JsonIdSerializer(Serializer):
    def serialize(self, data: Any) -> bytes:
        if not isinstance(data, Message) or data.on_complete or data.on_error:
            raise TypeError("only Veil job messages go through the queue")
        job, object_id = _checked_args(data.args)
        if data.kwargs:
            raise TypeError("Veil jobs take no keyword arguments")
        return orjson.dumps(
            {
                "id": data.id,
                "task": _checked_str(data.name),
                "args": [job, object_id],
                "eta": data.eta.isoformat() if data.eta else None,
                "retries": data.retries or 0,
                "retry_delay": data.retry_delay or 0,
                "priority": data.priority,
            }
        )

    def deserialize(self, data: bytes) -> Message:
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UnsafeMessage("queue message is not JSON") from None
        if not isinstance(body, dict):
            raise UnsafeMessage("queue message is not a Veil job")
        job, object_id = _checked_args(body.get("args"))
        eta = body.get("eta")
        return Message(
            id=_checked_str(body.get("id")),
            name=_checked_str(body.get("task")),
            eta=datetime.fromisoformat(eta) if isinstance(eta, str) else None,
            retries=_checked_int(body.get("retries")),
            retry_delay=_checked_int(body.get("retry_delay")),
            priority=body.get("priority") if isinstance(body.get("priority"), int) else None,
            args=(job, object_id),
            kwargs={},
        )


def _checked_args(args: object) -> tuple[str, str]:
    if not isinstance(args, list | tuple) or len(args) != 2:
        raise UnsafeMessage("a Veil job message carries (job, id)")
    job, object_id = (_checked_str(value) for value in args)
    return job, object_id


def _checked_str(value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise UnsafeMessage("malformed id in a queue message")
    return value


def _checked_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
        raise UnsafeMessage("malformed number in a queue message")
    return value
