"""The ingest API as the functional tests configure it."""

from __future__ import annotations

API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
