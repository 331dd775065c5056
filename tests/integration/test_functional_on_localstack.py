"""The functional suite again, against a LocalStack container instead of embedded moto,
so behaviour moto happens to allow but AWS (as LocalStack emulates it) does not shows up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.docker_support import require_docker_image
from tests.integration.support import LOCALSTACK_IMAGE, REPO

pytestmark = [pytest.mark.requires_docker, pytest.mark.timeout(1800)]


def test_functional_suite_passes_on_localstack(docker: Any, tmp_path: Path) -> None:
    """The functional suite on LocalStack runs (not only skips) and nothing fails."""
    require_docker_image(LOCALSTACK_IMAGE)
    report = tmp_path / "functional.xml"
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
            f"--junitxml={report}",
        ],
        cwd=REPO,
        env={**os.environ, "CV_ANALYTICS_TEST_BACKEND": "localstack"},
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
