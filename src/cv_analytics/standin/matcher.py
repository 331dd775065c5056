"""A deterministic stand-in for the worker's vector search: fuzzy name matching, no ML.

How a question is scored against the profile:

1. **Normalise** the question and every skill name and alias: Unicode NFKC, case-folded,
   split into tokens of letters, digits and ``# +`` with ``.`` or ``-`` inside a word (so
   ``C#``, ``C++``, ``Node.js`` and ``CI/CD`` survive; a sentence's final ``?`` does not).
   Common question words (``do``, ``you``, ``experience``, ``with``, …) are dropped from both.
2. **Compare** each name or alias of *n* tokens with every run of *n* consecutive question
   tokens by **edit similarity**: ``1 − 1.5 × edits / length of the longer``, at least 0,
   where edits are insertions, deletions, substitutions and swaps of two neighbouring
   characters (optimal string alignment). One typo in a long word still matches
   (``kubernets`` 0.85, ``pyton`` 0.75), unrelated words score 0 (``colour``/``azure``). A
   name of four characters or fewer (``Go``, ``AWS``, ``Java``) must match exactly (1.0) or
   scores 0: between short words one edit is the difference between ``help`` and ``helm``.
   A name of several words also scores the share of its characters found as whole question
   words (``pipelines`` for ``data pipelines``: 9/13 = 0.69), and keeps the better score.
3. A skill's **raw similarity** is its best name or alias; then, as the worker does, it is
   **boosted** for seniority (× 1.15 for 15+ years at Expert level, × 1.10 for 10+ at Expert,
   × 1.05 for 8+ at Advanced) and capped at 1.0.
4. **Retrieval**: skills scoring above 0 and at least the profile's ``min_similarity`` (0.5,
   the worker's ``MIN_SIMILARITY``), best first (ties in profile order), at most ``top_k``
   (5). None retrieved is the worker's "no vector matches" early return.
5. **Bands**, exactly as the worker labels its response event: ``full`` when the top
   similarity is above 0.8, ``partial`` above 0.5, else ``none``; ``matchScore`` is
   ``Math.round(similarity × 100)``.

The same question against the same profile always gives the same answer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from cv_analytics.standin.profile import Skill, SkillProfile

MatchType = Literal["full", "partial", "none"]

FULL_ABOVE = 0.8
PARTIAL_ABOVE = 0.5
EXACT_ONLY_MAX_CHARS = 4
EDIT_PENALTY = 1.5

_TOKEN = re.compile(r"[\w#+]+(?:[.\-][\w#+]+)*")
# Words of a question that say nothing about which skill (one string: easier to edit than a set).
_STOPWORDS = frozenset(
    """
    a about after all also am an and any are as at be been before being but by can could did do
    does doing done ever experience experienced experiences for from get good got had has have
    having he her his how i if in into is it its just know knowledge level like me much my no not
    of on or our really she skill skills so some tell than that the their them then there these
    they this those to use used uses using very was we well were what when where which who whom
    whose why will with work worked working would year years you your
    """.split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class SkillMatch:
    skill: Skill
    similarity: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    retrieved: tuple[SkillMatch, ...]
    # Best similarity over the whole profile, retrieved or not (0.0 for no overlap at all).
    best_similarity: float

    @property
    def top(self) -> SkillMatch | None:
        return self.retrieved[0] if self.retrieved else None


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def question_tokens(text: str) -> list[str]:
    return [token for token in tokens(text) if token not in _STOPWORDS]


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[len(b)]


def edit_similarity(a: str, b: str) -> float:
    longer = max(len(a), len(b))
    if longer == 0:
        return 0.0
    return max(0.0, 1.0 - EDIT_PENALTY * edit_distance(a, b) / longer)


def term_similarity(term: str, question: list[str]) -> float:
    """How well one skill name or alias appears in the (tokenised) question, 0 to 1."""
    wanted = question_tokens(term) or tokens(term)
    if not wanted or not question:
        return 0.0
    joined, width = " ".join(wanted), len(wanted)
    windows = {" ".join(question[i : i + width]) for i in range(max(1, len(question) - width + 1))}
    if len(joined) <= EXACT_ONLY_MAX_CHARS:
        return 1.0 if joined in windows else 0.0
    best = max(edit_similarity(joined, window) for window in windows)
    if width > 1:
        present = sum(len(token) for token in wanted if token in question)
        best = max(best, present / sum(len(token) for token in wanted))
    return best


def seniority_boost(skill: Skill) -> float:
    """The worker's boost, so vague questions rank senior skills first."""
    years, level = skill.years or 0, skill.level or ""
    if years >= 15 and level == "Expert":
        return 1.15
    if years >= 10 and level == "Expert":
        return 1.10
    if years >= 8 and level == "Advanced":
        return 1.05
    return 1.0


def skill_similarity(skill: Skill, question: list[str]) -> float:
    raw = max(term_similarity(term, question) for term in skill.terms)
    return min(1.0, raw * seniority_boost(skill))


def match(profile: SkillProfile, query: str) -> MatchResult:
    """Score every skill against ``query`` and retrieve the best, as the worker's search does."""
    question = question_tokens(query)
    scored = [SkillMatch(skill, skill_similarity(skill, question)) for skill in profile.skills]
    ranked = sorted(scored, key=lambda m: m.similarity, reverse=True)  # stable: ties keep profile order
    floor, top_k = profile.matching.min_similarity, profile.matching.top_k
    retrieved = tuple(m for m in ranked if m.similarity > 0 and m.similarity >= floor)[:top_k]
    return MatchResult(retrieved=retrieved, best_similarity=ranked[0].similarity if ranked else 0.0)


def match_type(similarity: float) -> MatchType:
    if similarity > FULL_ABOVE:
        return "full"
    if similarity > PARTIAL_ABOVE:
        return "partial"
    return "none"


def match_score(similarity: float) -> int:
    """JavaScript's ``Math.round(similarity * 100)``: halves round up, not to even."""
    return math.floor(similarity * 100 + 0.5)


def to_fixed(value: float, digits: int = 2) -> str:
    """JavaScript's ``Number.prototype.toFixed`` for non-negative numbers (exact binary value, halves up)."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def reasoning(top: SkillMatch | None) -> str:
    """The worker's ``reasoning`` text for its top result."""
    if top is None:
        return "No relevant skills found"
    label = {"full": "Excellent", "partial": "Moderate", "none": "Weak"}[match_type(top.similarity)]
    return f'{label} match: "{top.skill.name}" with {to_fixed(top.similarity)} similarity'
