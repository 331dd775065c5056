"""The worker stand-in's matcher: similarity, retrieval, bands, and the worker's number formats."""

from __future__ import annotations

import pytest

from cv_analytics.standin.matcher import (
    SkillMatch,
    edit_distance,
    match,
    match_score,
    match_type,
    reasoning,
    seniority_boost,
    to_fixed,
)
from cv_analytics.standin.profile import Matching, Skill, SkillProfile


def _profile(*skills: Skill, min_similarity: float = 0.5, top_k: int = 5) -> SkillProfile:
    return SkillProfile(skills=skills, matching=Matching(min_similarity=min_similarity, top_k=top_k))


PYTHON = Skill(name="Python", aliases=("python3",))
KUBERNETES = Skill(name="Kubernetes", aliases=("k8s",))
GO = Skill(name="Go", aliases=("golang",))
PIPELINES = Skill(name="Data pipelines")


@pytest.mark.parametrize(
    ("similarity", "expected"),
    [(1.0, "full"), (0.81, "full"), (0.8, "partial"), (0.51, "partial"), (0.5, "none"), (0.0, "none")],
)
def test_match_type_bands_are_the_workers_strict_thresholds(similarity, expected):
    """full above 0.8, partial above 0.5, else none: 0.8 itself is partial and 0.5 none, as in the worker."""
    assert match_type(similarity) == expected


def test_match_score_rounds_halves_up_like_javascript():
    """0.125 → 13 (Math.round), where Python's round would give 12."""
    assert match_score(0.125) == 13
    assert match_score(0.914) == 91


def test_to_fixed_rounds_halves_up_like_javascript():
    """toFixed(2) of 0.125 is "0.13" in JavaScript; Python's format gives "0.12"."""
    assert to_fixed(0.125) == "0.13"
    assert to_fixed(1.0) == "1.00"


def test_reasoning_full_match_is_the_workers_sentence():
    """The top result above 0.8 reads `Excellent match: "C#" with 0.91 similarity`."""
    top = SkillMatch(Skill(name="C#"), 0.91)
    assert reasoning(top) == 'Excellent match: "C#" with 0.91 similarity'


def test_reasoning_partial_and_weak_matches_are_labelled_by_band():
    """Moderate above 0.5, Weak at or below."""
    assert reasoning(SkillMatch(PYTHON, 0.6)) == 'Moderate match: "Python" with 0.60 similarity'
    assert reasoning(SkillMatch(PYTHON, 0.5)) == 'Weak match: "Python" with 0.50 similarity'


def test_match_exact_name_is_full():
    """A skill named word for word scores 1.0."""
    result = match(_profile(PYTHON, KUBERNETES), "Do you have Python experience?")
    assert [(m.skill.name, m.similarity) for m in result.retrieved] == [("Python", 1.0)]


def test_match_alias_counts_as_the_skill():
    """An alias finds its skill."""
    assert match(_profile(PYTHON, KUBERNETES), "Running k8s clusters?").top.skill.name == "Kubernetes"


def test_match_one_typo_in_a_long_name_is_still_full():
    """`kubernets` is one edit from `kubernetes`: 1 − 1.5 × 1/10 = 0.85."""
    result = match(_profile(KUBERNETES), "Experience with kubernets?")
    assert result.top.similarity == pytest.approx(0.85)
    assert match_type(result.top.similarity) == "full"


def test_match_one_typo_in_a_six_letter_name_is_partial():
    """`pyton` vs `python`: 1 − 1.5 × 1/6 = 0.75."""
    assert match(_profile(PYTHON), "Ever used pyton?").top.similarity == pytest.approx(0.75)


def test_match_short_names_need_an_exact_word():
    """`Go` matches the word `go`, never `to` or `so`."""
    assert match(_profile(GO), "Do you write go services?").top.similarity == 1.0
    assert match(_profile(GO), "Is there something to say?").top is None


def test_match_unrelated_question_retrieves_nothing():
    """No skill reaches min_similarity: the worker's "no vector matches" case."""
    result = match(_profile(PYTHON, KUBERNETES, GO), "What is your favourite colour?")
    assert result.retrieved == ()
    assert result.best_similarity < 0.5


def test_match_part_of_a_multi_word_name_scores_its_share():
    """`pipelines` is 9 of the 13 characters of `data pipelines`."""
    result = match(_profile(PIPELINES), "Built any pipelines?")
    assert result.top.similarity == pytest.approx(9 / 13)


def test_match_floor_comes_from_the_profile():
    """A lower min_similarity retrieves a weak match the default leaves out (`pitong`: 0.36)."""
    question = "Any experience with pitong?"
    assert match(_profile(PYTHON), question).top is None
    assert match(_profile(PYTHON, min_similarity=0.3), question).top.skill.name == "Python"


def test_match_keeps_at_most_top_k_best_first_ties_in_profile_order():
    """Equal scores keep the profile's order, and top_k cuts the list."""
    skills = [Skill(name=f"Skill{n}", aliases=("shared",)) for n in range(4)]
    result = match(_profile(*skills, top_k=3), "Anything shared?")
    assert [m.skill.name for m in result.retrieved] == ["Skill0", "Skill1", "Skill2"]


def test_match_is_deterministic():
    """The same question against the same profile gives the same result."""
    profile = _profile(PYTHON, KUBERNETES, GO, PIPELINES)
    assert match(profile, "pipelines in golang?") == match(profile, "pipelines in golang?")


def test_seniority_boost_ranks_a_senior_skill_first_and_caps_at_one():
    """15+ years Expert is × 1.15, capped at 1.0; without years or level, no boost."""
    senior = Skill(name="Python", years=15, level="Expert")
    assert seniority_boost(senior) == 1.15
    assert seniority_boost(Skill(name="Rust", years=9, level="Advanced")) == 1.05
    assert seniority_boost(PYTHON) == 1.0
    assert match(_profile(senior), "Python?").top.similarity == 1.0
    assert match(_profile(senior), "pyton?").top.similarity == pytest.approx(0.75 * 1.15)


def test_edit_distance_counts_a_swap_of_neighbours_as_one():
    """`terrafrom` is one swap from `terraform` (optimal string alignment)."""
    assert edit_distance("terrafrom", "terraform") == 1
    assert edit_distance("kitten", "sitting") == 3
