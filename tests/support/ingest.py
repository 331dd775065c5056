"""The ingest API as the functional tests configure it."""

from __future__ import annotations

from schemathesis.config import SchemathesisConfig

API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

# What counts as refusing a schema-violating request: schemathesis' own list, plus 413, which
# the API answers first to a body over its size limit, before it reads the body at all.
FUZZ_REFUSALS = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]
            }
        }
    }
)
