"""Hostile input and unknown writers get a 4xx naming the problem, never a 5xx, and nothing is queued."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.events import QUERY_AT, query_event
from tests.support.ingest import API_KEY, AUTH
from tests.support.stack import wait_for_messages


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings), headers=AUTH) as test_client:
        yield test_client


@pytest.fixture
def settings(stack, tmp_path) -> IngestSettings:
    return IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys=API_KEY)


def _event() -> dict:
    return query_event(str(uuid.uuid4()), timestamp=QUERY_AT)


def _post_raw(client: TestClient, body: bytes, **headers: str):
    return client.post("/v1/events", content=body, headers={"content-type": "application/json", **headers})


def _assert_rejected(client: TestClient, response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert client.app.state.sender.outbox.pending == 0
    return response.json()


# --- only known writers -------------------------------------------------------------------------


def test_ingest_no_credentials_is_401_with_challenge(client):
    """A POST without Authorization is refused with WWW-Authenticate: Bearer."""
    response = client.post("/v1/events", json=_event(), headers={"Authorization": ""})
    _assert_rejected(client, response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_ingest_unknown_key_is_401(client):
    """A bearer key that is not configured is refused."""
    response = client.post("/v1/events", json=_event(), headers={"Authorization": "Bearer not-the-key"})
    _assert_rejected(client, response, 401)


def test_ingest_rotated_keys_from_variable_and_file_are_all_accepted(stack, tmp_path):
    """During a rotation the old key (variable) and the new ones (file) are all accepted."""
    key_file = tmp_path / "keys"
    key_file.write_text("new-key-1\n\nnew-key-2\n", encoding="utf-8")
    settings = IngestSettings(outbox_path=tmp_path / "o.sqlite3", api_keys="old-key", api_keys_file=key_file)
    with TestClient(create_app(settings)) as client:
        for key in ("old-key", "new-key-1", "new-key-2"):
            response = client.post("/v1/events", json=_event(), headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 202, key


def test_ingest_settings_without_any_key_fail_fast(tmp_path, monkeypatch):
    """Start-up fails, naming the variables, when no API key is configured."""
    monkeypatch.delenv("INGEST_API_KEYS", raising=False)
    monkeypatch.delenv("INGEST_API_KEYS_FILE", raising=False)
    with pytest.raises(ValidationError, match="INGEST_API_KEYS"):
        IngestSettings(outbox_path=tmp_path / "o.sqlite3")


def test_ingest_health_and_docs_need_no_key(client):
    """Probes and the API description stay open."""
    for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
        assert client.get(path, headers={"Authorization": ""}).status_code in (200, 503), path


# --- hostile bodies ------------------------------------------------------------------------------


def test_ingest_non_utf8_body_is_422_naming_body(client):
    """Latin-1 bytes are refused as not UTF-8."""
    body = json.dumps(_event()).replace("Python", "Pyth\u00f6n").encode("latin-1")
    [error] = _assert_rejected(client, _post_raw(client, body), 422)["detail"]
    assert error["loc"] == ["body"] and error["type"] == "unicode_decode"


def test_ingest_gzip_body_is_415(client):
    """Content-Encoding: gzip is refused, not decoded as garbage."""
    body = gzip.compress(json.dumps(_event()).encode())
    _assert_rejected(client, _post_raw(client, body, **{"content-encoding": "gzip"}), 415)


def test_ingest_deep_nesting_is_422(client):
    """1,000 nested lists are refused as too deep."""
    [error] = _assert_rejected(client, _post_raw(client, b"[" * 1000 + b"]" * 1000), 422)["detail"]
    assert error["type"] == "json_too_deep"


def test_ingest_deep_nesting_inside_metadata_names_field(client):
    """Nesting deeper than 16 inside an event is refused with where it is."""
    nested: object = 1
    for _ in range(20):
        nested = {"a": nested}
    event = _event() | {"metadata": {"deep": nested}}
    [error] = _assert_rejected(client, client.post("/v1/events", json=event), 422)["detail"]
    assert error["loc"][:3] == ["body", "metadata", "deep"]


def test_ingest_5000_digit_integer_is_422(client):
    """An integer too long for any store is refused (json.loads would raise ValueError)."""
    body = json.dumps(_event())[:-1].encode() + b',"big":' + b"9" * 5000 + b"}"
    [error] = _assert_rejected(client, _post_raw(client, body), 422)["detail"]
    assert error["type"] == "int_too_large"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_ingest_non_finite_number_is_422(client, constant):
    """NaN, Infinity and floats that overflow are not JSON numbers the pipeline can store."""
    body = json.dumps(_event())[:-1].encode() + b',"x":' + constant + b"}"
    _assert_rejected(client, _post_raw(client, body), 422)


def test_ingest_lone_surrogate_is_422_naming_field(client):
    """An escaped lone surrogate in an extra field is refused with the field's location."""
    body = json.dumps(_event())[:-1].encode() + b',"x":"\\ud800"}'
    [error] = _assert_rejected(client, _post_raw(client, body), 422)["detail"]
    assert error["loc"] == ["body", "x"] and "U+D800" in error["msg"]


def test_ingest_lone_surrogate_in_key_is_422_not_500(client):
    """A lone surrogate in a key is refused, and the answer itself is valid UTF-8 JSON."""
    body = json.dumps(_event())[:-1].encode() + b',"\\udfff":1}'
    [error] = _assert_rejected(client, _post_raw(client, body), 422)["detail"]
    assert error["type"] == "string_character"


def test_ingest_later_events_arrive_after_a_lone_surrogate(stack, client):
    """The sender survives hostile input: an event sent after the refused one reaches SQS."""
    body = json.dumps(_event())[:-1].encode() + b',"x":"\\ud800"}'
    _post_raw(client, body)
    good = _event()
    assert client.post("/v1/events", json=good).status_code == 202
    [message] = wait_for_messages(stack, 1)
    assert json.loads(message["Body"]) == good
    assert client.get("/healthz").status_code == 200


# --- the API description -------------------------------------------------------------------------


def test_ingest_openapi_documents_body_answers_and_bearer(client):
    """/openapi.json declares the event models as the body, every answer, and the bearer scheme."""
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/events"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    refs = json.dumps(schema)
    assert "#/components/schemas/QueryEvent" in refs and "#/components/schemas/ResponseEvent" in refs
    assert {"QueryEvent", "ResponseEvent"} <= set(document["components"]["schemas"])
    assert {"202", "401", "413", "415", "422", "503"} <= set(operation["responses"])
    assert operation["security"] == [{"HTTPBearer": []}]
