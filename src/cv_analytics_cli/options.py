"""Options more than one command takes, spelled once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cv_analytics.settings import DEFAULT_STATE_DIR, STATE_DIR_VARIABLE


def state_dir_option(*, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--state-dir``: where `up` keeps its state (``CV_ANALYTICS_STATE_DIR``)."""
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_STATE_DIR,
        show_default=True,
        envvar=STATE_DIR_VARIABLE,
        help=help,
    )
