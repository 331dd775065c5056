"""pytest plugin for the functional suite run on LocalStack (by tests/integration/
test_functional_on_localstack.py): before any test, identify the emulator behind
``aws_endpoint`` and write what it is to the file named by CV_ANALYTICS_EMULATOR_REPORT,
for the calling test to check and report."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from tests.support.containers import identify_aws_emulator

REPORT_VARIABLE = "CV_ANALYTICS_EMULATOR_REPORT"


@pytest.fixture(scope="session", autouse=True)
def _identified_emulator(request: pytest.FixtureRequest) -> None:
    report = os.environ.get(REPORT_VARIABLE)
    if report:
        identity = identify_aws_emulator(request.getfixturevalue("aws_endpoint"))
        Path(report).write_text(json.dumps(dataclasses.asdict(identity)))
