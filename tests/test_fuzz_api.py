"""API fuzzing: schemathesis generates requests from /openapi.json (valid and invalid ones, NUL
characters included) for every operation, in-process against the ASGI app with an admin key.
Every answer: no 500, a documented status, a body that matches its schema, and every error in
SPEC's shape `{"error": {"code", "message"}}`. Bounded (FUZZ_EXAMPLES per operation) so the
whole run stays within about a minute; VEIL_FUZZ_EXAMPLES raises it for a deeper run."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.compliance.export_support import make_subject
from tests.fixtures.factories import WorkspaceHandle
from veil.app import create_app
from veil.config import Settings
from veil.runtime import Runtime

FUZZ_EXAMPLES = int(os.environ.get("VEIL_FUZZ_EXAMPLES", "20"))


def _operation_labels() -> list[str]:
    """Every operation of the OpenAPI document, read from an app that touches no database."""
    doc = create_app(Runtime(Settings(queue_url="memory://", secret_key="x" * 40))).openapi()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in doc["paths"].items()
        for method in operations
    )


@schemathesis.check
def spec_error_shape(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"].strip(), body
    return None


@pytest.mark.parametrize("label", _operation_labels())
def test_api_answers_every_generated_request_as_documented(
    runtime: Runtime, ws: WorkspaceHandle, label: str
) -> None:
    make_subject(runtime, ws)  # something to find, export and delete
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime))
    schema.config.generation.update(allow_x00=True)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @given(case=strategy)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={**ws.admin, **(case.headers or {})},
            checks=[
                schemathesis.checks.not_a_server_error,
                schemathesis.checks.status_code_conformance,
                schemathesis.checks.content_type_conformance,
                schemathesis.checks.response_schema_conformance,
                spec_error_shape,
            ],
        )

    answers_as_documented()
