"""The functional suite again, against a LocalStack container instead of embedded moto,
so behaviour moto happens to allow but AWS (as LocalStack emulates it) does not shows up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.support.containers import IDENTIFIED_EMULATORS, LOCALSTACK_IMAGE, REPO, EmulatorIdentity
from tests.support.docker_daemon import require_docker_image
from tests.support.emulator_probe import REPORT_VARIABLE

pytestmark = [pytest.mark.requires_docker, pytest.mark.timeout(1800)]


def test_functional_suite_passes_on_localstack(docker: Any, tmp_path: Path) -> None:
    """The functional suite on LocalStack runs (not only skips), nothing fails, and the
    emulator it ran on was identified as one (LocalStack or a stand-in, named in the summary)."""
    require_docker_image(LOCALSTACK_IMAGE)
    report, identity = tmp_path / "functional.xml", tmp_path / "emulator.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/functional",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.support.emulator_probe",
            f"--junitxml={report}",
        ],
        cwd=REPO,
        env={**os.environ, "CV_ANALYTICS_TEST_BACKEND": "localstack", REPORT_VARIABLE: str(identity)},
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    output = (result.stdout + result.stderr)[-6000:]
    assert report.exists(), f"pytest wrote no report (exit {result.returncode}):\n{output}"
    root = ElementTree.parse(report).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None, f"no testsuite in {report}"
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    assert result.returncode == 0, f"functional suite failed on LocalStack {counts}:\n{output}"
    assert counts["failures"] == counts["errors"] == 0, output
    assert counts["tests"] - counts["skipped"] > 0, f"every functional test skipped {counts}:\n{output}"
    assert identity.exists(), f"the functional run never identified its emulator:\n{output}"
    IDENTIFIED_EMULATORS.append(EmulatorIdentity(**json.loads(identity.read_text())))
