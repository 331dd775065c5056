"""``cv-analytics chat``: ask the worker stand-in questions from a terminal, one per line.

Every question goes to ``POST /query`` with the session id in ``x-session-id``, so the
analytics see one visitor's conversation. At a terminal, readline (when the platform has it)
gives line editing and a history kept in the state directory; with stdin piped, each line is
a question and no prompt is printed, which is how scripts and tests drive it.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cv_analytics_cli.options import state_dir_option

if TYPE_CHECKING:
    import httpx

QUIT_COMMANDS = frozenset({"/quit", "/exit"})
PROMPT = "you> "
HISTORY_FILE = "chat_history"
HISTORY_LENGTH = 1_000


def new_session_id() -> str:
    return f"chat-{uuid.uuid4().hex[:12]}"


@click.command()
@click.option("--api-url", default="http://127.0.0.1:8000", show_default=True)
@click.option(
    "--session", "session_id", default=None, help="x-session-id to send [default: a new chat-… id]."
)
@state_dir_option(help="Where the line history is kept (at a terminal only).")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for each answer.")
def chat(api_url: str, session_id: str | None, state_dir: Path, timeout: float) -> None:
    """Chat with the worker stand-in (POST /query); /quit or end of input leaves."""
    import httpx

    session = session_id or new_session_id()
    interactive = sys.stdin.isatty()
    click.echo(f"session {session} → {api_url}/query  (/quit to leave)")
    with httpx.Client(base_url=api_url, timeout=timeout, headers={"x-session-id": session}) as client:
        for question in _questions(interactive, state_dir / HISTORY_FILE):
            click.echo(describe(ask(client, question, api_url=api_url)))


def _questions(interactive: bool, history: Path) -> Iterator[str]:
    """Non-empty lines until /quit or end of input."""
    saved = _start_history(history) if interactive else None
    try:
        while True:
            try:
                line = input(PROMPT) if interactive else sys.stdin.readline()
            except (EOFError, KeyboardInterrupt):
                return
            if not interactive and not line:
                return
            question = line.strip()
            if question in QUIT_COMMANDS:
                return
            if question:
                yield question
    finally:
        if saved is not None:
            saved()


def _start_history(path: Path) -> Any:
    """Load readline's history; returns the function that saves it, or None without readline."""
    try:
        import readline
    except ImportError:  # e.g. Windows: plain input() still works
        return None
    with suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)

    def save() -> None:
        with suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)

    return save


def ask(client: httpx.Client, question: str, *, api_url: str) -> httpx.Response:
    import httpx

    try:
        return client.post("/query", json={"query": question})
    except httpx.TransportError as exc:
        raise click.ClickException(f"cannot reach the ingest API at {api_url}: {exc}") from exc


def describe(response: httpx.Response) -> str:
    """What a person wants to see: the reply and how well it matched, or why there is none."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 200 and "assistantReply" in body:
        match = f"[match {body.get('matchType')}, score {body.get('matchScore')}]"
        return f"bot> {body['assistantReply']}\n     {match}"
    reason = body.get("error") or body.get("detail") or response.text.strip() or response.reason_phrase
    lines = [f"bot> ({response.status_code}) {reason}"]
    if body.get("suggestion"):
        lines.append(f"     {body['suggestion']}")
    return "\n".join(lines)
