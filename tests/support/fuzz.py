"""How the fuzz tests (schemathesis) judge the ingest API's answers."""

from __future__ import annotations

from schemathesis.config import SchemathesisConfig

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
