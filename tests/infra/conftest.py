"""Fixtures of the Terraform checks; the reading of infra/terraform is in tests.support.terraform."""

from __future__ import annotations

import pytest

from tests.support.terraform import TerraformModule


@pytest.fixture(scope="session")
def terraform() -> TerraformModule:
    """infra/terraform with its variables at their defaults."""
    return TerraformModule.load()
