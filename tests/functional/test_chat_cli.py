"""`cv-analytics chat` driven through piped stdin against the ingest app served over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from cv_analytics_cli.main import main
from cv_ingest_api.app import create_app
from cv_ingest_api.settings import IngestSettings
from tests.support.network import free_port
from tests.support.stack import queue_messages


@pytest.fixture
def api(stack, tmp_path) -> Iterator[tuple[str, object]]:
    """The ingest app on a free loopback port; yields its URL and the app."""
    settings = IngestSettings(outbox_path=tmp_path / "outbox.sqlite3", api_keys="test-key-0123456789")
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    yield url, app
    server.should_exit = True
    thread.join(timeout=15)


def _queued_events(stack, app) -> list[dict]:
    """Every event the app accepted, read back from the queue once the outbox has sent it all."""
    sender, sqs = app.state.sender, stack.client("sqs")
    deadline = time.monotonic() + 15
    while sender.outbox.pending:
        assert time.monotonic() < deadline, sender.status()
        time.sleep(0.05)
    events: list[dict] = []
    while len(events) < sender.state.sent:
        assert time.monotonic() < deadline, f"{len(events)} of {sender.state.sent} on the queue"
        for message in queue_messages(stack, stack.resources.queue_url, wait=1):
            events.append(json.loads(message["Body"]))
            # Deleting shows the next message of the same FIFO group (a query's response).
            sqs.delete_message(QueueUrl=stack.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events


def test_chat_piped_questions_print_replies_and_stop_at_quit(stack, api):
    """Each line is asked with the session id; replies, match and refusals are printed; /quit ends it."""
    url, app = api
    questions = "Do you have Python experience?\n\nWhat salary do you expect?\n/quit\nDo you know Go?\n"
    result = CliRunner().invoke(main, ["chat", "--api-url", url, "--session", "cli-session"], input=questions)
    assert result.exit_code == 0, result.output
    assert "session cli-session" in result.output
    assert "[match full, score 100]" in result.output
    assert "(400) I can only answer questions about technical skills" in result.output
    assert "Do you know Go" not in result.output  # asked after /quit: never sent
    events = _queued_events(stack, app)
    assert sorted(event["eventType"] for event in events) == ["query", "query", "response"]
    assert {event["sessionId"] for event in events} == {"cli-session"}


def test_chat_end_of_input_ends_without_quit(api):
    """Piped input without /quit ends at end of input, exit code 0, with a generated session id."""
    url, _ = api
    result = CliRunner().invoke(main, ["chat", "--api-url", url], input="Do you know Haskell?\n")
    assert result.exit_code == 0, result.output
    assert "session chat-" in result.output
    assert "[match none, score" in result.output


def test_chat_unreachable_api_exits_1_naming_the_url():
    """Nothing listening: a clear error and exit code 1, not a traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["chat", "--api-url", url], input="Do you have Python experience?\n")
    assert result.exit_code == 1
    assert f"cannot reach the ingest API at {url}" in result.output
    assert not isinstance(result.exception, httpx.HTTPError)
