"""The worker stand-in's skills profile: the shipped demo, custom files, errors and live edits."""

from __future__ import annotations

import os

import pytest

from cv_analytics.standin.profile import (
    DEFAULT_MIN_SIMILARITY,
    DEFAULT_PROFILE_PATH,
    DEFAULT_TOP_K,
    ProfileError,
    ProfileSource,
    load_profile,
)

MINIMAL = '[[skills]]\nname = "Python"\n'


def test_load_profile_default_demo_covers_a_cv():
    """The shipped profile loads, with languages, cloud and data skills and the worker's settings."""
    profile = load_profile(DEFAULT_PROFILE_PATH)
    categories = {skill.category for skill in profile.skills}
    assert {"Languages", "Cloud", "Data", "DevOps"} <= categories
    assert profile.matching.min_similarity == DEFAULT_MIN_SIMILARITY
    assert profile.matching.top_k == DEFAULT_TOP_K


def test_load_profile_minimal_file_gets_defaults(tmp_path):
    """Only a skill name is required; owner and matching take defaults."""
    path = tmp_path / "profile.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    profile = load_profile(path)
    assert [skill.name for skill in profile.skills] == ["Python"]
    assert profile.matching.min_similarity == DEFAULT_MIN_SIMILARITY


def test_load_profile_missing_file_names_the_path(tmp_path):
    """A missing file is a ProfileError that says which file."""
    with pytest.raises(ProfileError, match=r"nope\.toml cannot be read"):
        load_profile(tmp_path / "nope.toml")


def test_load_profile_bad_toml_is_refused(tmp_path):
    """A file that is not TOML says so."""
    path = tmp_path / "profile.toml"
    path.write_text("[[skills]\nname = ", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(path)


def test_load_profile_unknown_key_names_the_field(tmp_path):
    """A misspelt key is refused with its location, not ignored."""
    path = tmp_path / "profile.toml"
    path.write_text(MINIMAL + "yeras = 3\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"skills\.0\.yeras"):
        load_profile(path)


def test_load_profile_without_skills_is_refused(tmp_path):
    """A profile needs at least one skill."""
    path = tmp_path / "profile.toml"
    path.write_text('[owner]\nname = "Ann"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="skills"):
        load_profile(path)


def test_profile_source_rereads_an_edited_file(tmp_path):
    """An edit is seen by the next call, without a restart."""
    path = tmp_path / "profile.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    source = ProfileSource(path)
    assert source.current().skills[0].name == "Python"
    path.write_text('[[skills]]\nname = "Rust"\n', encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new mtime even on file systems with coarse timestamps
    assert source.current().skills[0].name == "Rust"


def test_profile_source_broken_edit_raises_until_fixed(tmp_path):
    """A file that became invalid raises ProfileError (not the old profile)."""
    path = tmp_path / "profile.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    source = ProfileSource(path)
    source.current()
    path.write_text("not toml at all = = =", encoding="utf-8")
    with pytest.raises(ProfileError):
        source.current()
