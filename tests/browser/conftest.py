"""Browser-tier fixtures: the local pipeline with its console, and Debian's chromium driven by Playwright.

The browser is the system's (``CV_ANALYTICS_CHROMIUM`` if set, else ``chromium`` on the PATH
or ``/usr/bin/chromium``): Playwright never downloads one of its own here. Without a browser
the tests skip and say why, unless ``CV_ANALYTICS_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cv_analytics_cli.local import LocalPipeline
from tests.support.network import free_port

OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
SCREENSHOT = OUTPUT_DIR / "console.png"
_PIPELINE_OVERRIDES = (
    "INGEST_OUTBOX_PATH",
    "INGEST_API_KEYS",
    "INGEST_API_KEYS_FILE",
    "INGEST_SENDER_CONCURRENCY",
)
_LAUNCH_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]


def _required() -> bool:
    return os.environ.get("CV_ANALYTICS_REQUIRE_BROWSER", "") not in ("", "0", "false")


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(f"CV_ANALYTICS_REQUIRE_BROWSER is set, but {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """``CV_ANALYTICS_CHROMIUM`` when set (and only it), else the system's chromium."""
    explicit = os.environ.get("CV_ANALYTICS_CHROMIUM")
    candidates = (
        (explicit,)
        if explicit
        else (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
    )
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless chromium (the system's), shared by the session's tests."""
    executable = chromium_path()
    if executable is None:
        _unavailable("no chromium binary (apt-get install chromium, or set CV_ANALYTICS_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    from playwright.sync_api import expect

    # Panels refresh every few seconds; a busy two-core machine may need several rounds.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=_LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; whatever it shows at the end, passed or failed, lands in test-output/browser/."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    (OUTPUT_DIR / "browser").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT_DIR / "browser" / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox, API key and runner heartbeat go under tmp_path, never into the working tree."""
    monkeypatch.setenv("CV_ANALYTICS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RUNNER_HEARTBEAT_FILE", str(tmp_path / "runner-heartbeat"))
    for name in _PIPELINE_OVERRIDES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def pipeline(stack: Any) -> Iterator[LocalPipeline]:
    """`cv-analytics up` in process on free ports, against the test's own resources."""
    running = LocalPipeline(api_port=free_port(), schedule=False)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def console_url(pipeline: LocalPipeline) -> str:
    return f"{pipeline.api_url}/console/"
