"""Helpers shared by every test tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    """The realistic event stored as ``tests/events/<name>.json``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
