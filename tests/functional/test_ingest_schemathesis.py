"""The served OpenAPI document, fuzzed: positive and negative cases, no server error, answers as declared."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.fuzz import FUZZ_REFUSALS
from tests.support.ingest import API_KEY, AUTH

CASES_PER_MODE = 300


@pytest.fixture
def app(stack, tmp_path):
    from fastapi.testclient import TestClient

    settings = IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY)
    application = create_app(settings)
    with TestClient(application):  # runs the lifespan: the sender is up while the fuzzer works
        yield application


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_ingest_schema_fuzzed_has_no_server_errors_and_conforms(app, mode):
    """300 generated requests per mode get no 5xx, and every answer (code, body, headers) is as served."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=FUZZ_REFUSALS)
    operation = schema["/v1/events"]["POST"]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=CASES_PER_MODE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        # Not checked: that every schema-valid body is accepted. The schema cannot say what the
        # API must also refuse (timestamps outside the window around now, 100.0 for an integer,
        # lone surrogates), and refusing those with a 422 is the point.
        response = case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])
        seen.append(response.status_code)

    run()
    print(f"\n{mode.value}: {len(seen)} cases, status codes {sorted(set(seen))}")
    assert len(seen) >= CASES_PER_MODE * 0.8
    assert all(code < 500 for code in seen)
