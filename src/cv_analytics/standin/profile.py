"""The skills profile the worker stand-in answers from: a small TOML file anyone can edit.

The package ships a demo profile (``default_profile.toml``); ``WORKER_PROFILE_PATH`` points
the ingest service at another. ``ProfileSource`` re-reads the file when it changes, so an
edit shows in the next answer without a restart.
"""

from __future__ import annotations

import os
import threading
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PROFILE_PATH = Path(__file__).with_name("default_profile.toml")

# The worker's own search constants (SEARCH_CONFIG): matches below MIN_SIMILARITY are not
# retrieved, and at most TOP_K_EXTENDED are kept.
DEFAULT_MIN_SIMILARITY = 0.5
DEFAULT_TOP_K = 5

Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Skill(_Strict):
    name: Text
    aliases: tuple[Text, ...] = ()
    category: Text | None = None
    years: Annotated[int, Field(ge=0, le=80)] | None = None
    level: Text | None = None
    summary: Annotated[str, Field(max_length=1_000)] = ""

    @property
    def terms(self) -> tuple[str, ...]:
        """Every name the skill answers to."""
        return (self.name, *self.aliases)


class Matching(_Strict):
    min_similarity: Annotated[float, Field(ge=0, le=1)] = DEFAULT_MIN_SIMILARITY
    top_k: Annotated[int, Field(ge=1, le=50)] = DEFAULT_TOP_K


class Owner(_Strict):
    name: Text = "the candidate"
    headline: Annotated[str, Field(max_length=200)] = ""


class SkillProfile(_Strict):
    owner: Owner = Owner()
    matching: Matching = Matching()
    skills: Annotated[tuple[Skill, ...], Field(min_length=1, max_length=1_000)]


class ProfileError(ValueError):
    """The profile file is missing, not TOML, or not a valid profile; the message says where."""


def load_profile(path: Path) -> SkillProfile:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"skills profile {path} cannot be read: {exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"skills profile {path} is not valid TOML: {exc}") from exc
    try:
        return SkillProfile.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ProfileError(f"skills profile {path} is invalid: {problems}") from exc


class ProfileSource:
    """The profile at ``path``, read again whenever the file's size or mtime changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._profile: SkillProfile | None = None

    def current(self) -> SkillProfile:
        """The profile as the file holds it now; ProfileError when the file became invalid."""
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise ProfileError(f"skills profile {self.path} cannot be read: {exc}") from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._profile is None or stamp != self._stamp:
                self._profile = load_profile(self.path)
                self._stamp = stamp
            return self._profile
