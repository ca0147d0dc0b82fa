"""JSON columns go through orjson (veil.db.json_dumps / json_loads): what is stored is one
valid JSON text on both backends, non-ASCII text round-trips, and what orjson refuses is
still handled as the stdlib did."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Text, cast, select

from tests.fixtures.factories import WorkspaceHandle
from veil.db import json_dumps, json_loads
from veil.models import Event
from veil.runtime import Runtime

PROPERTIES: dict[str, Any] = {
    "name": "Zoë Ñúñez-Øberg",
    "note": '日本語のメモ, emoji 🎉, quote " backslash \\ newline \n tab \t',
    "escaped": "\u2028\u2029</script>",
    "nested": {"list": [1, -2, 3.5, True, None, "ß"], "empty": {}, "none": []},
    "big": 2**63 - 1,
    "small": -(2**63 - 1),
    "float": 1e-7,
}


def test_event_properties_are_stored_as_valid_json_and_round_trip(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    response = client.post(
        "/api/v1/events",
        json={"type": "Noted", "profile": {"email": "zoe@example.com"}, "properties": PROPERTIES},
        headers=ws.admin,
    )
    assert response.status_code == 202, response.text
    with runtime.sessionmaker() as session:
        (raw,) = session.scalars(select(cast(Event.properties, Text))).all()
        (decoded,) = session.scalars(select(Event.properties)).all()
    # The stored text, read back undecoded (as the export splices it), is strict JSON.
    assert json.loads(raw) == PROPERTIES
    assert "Zoë" in raw  # UTF-8 as it is (the stdlib stored "Zo\\u00eb" on SQLite)
    assert decoded == PROPERTIES
    listed = client.get(
        f"/api/v1/profiles/{response.json()['profile_id']}/events", headers=ws.admin
    )
    assert listed.json()["data"][0]["properties"] == PROPERTIES


def test_json_dumps_is_strict_json_and_falls_back_to_the_stdlib() -> None:
    assert json.loads(json_dumps(PROPERTIES)) == PROPERTIES
    assert "Zoë" in json_dumps({"n": "Zoë"})  # UTF-8 as it is, not escaped
    assert json_dumps({1: "a"}) == '{"1":"a"}'  # non-string keys as the stdlib writes them
    # Beyond orjson's 64 bits and an unpaired surrogate: written by the stdlib, as before.
    assert json.loads(json_dumps({"n": 2**70})) == {"n": 2**70}
    assert json_dumps({"s": "\ud800"}) == json.dumps({"s": "\ud800"})


def test_json_loads_reads_what_the_stdlib_wrote() -> None:
    assert json_loads(json.dumps(PROPERTIES)) == PROPERTIES
    assert json_loads(json.dumps({"s": "\ud800"})) == {"s": "\ud800"}
    assert math.isnan(json_loads('{"x": NaN}')["x"])
    assert json_loads(b'{"a": 1}') == {"a": 1}
