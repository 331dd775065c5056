"""The worker stand-in: answers CV questions like the production chatbot worker, from a skills
profile with a deterministic matcher, and says which analytics events the worker would send."""

from cv_analytics.standin.matcher import MatchResult, SkillMatch, match
from cv_analytics.standin.profile import (
    DEFAULT_PROFILE_PATH,
    ProfileError,
    ProfileSource,
    SkillProfile,
    load_profile,
)
from cv_analytics.standin.questions import OpeningHours
from cv_analytics.standin.worker import Answer, Visitor, WorkerStandIn

__all__ = [
    "DEFAULT_PROFILE_PATH",
    "Answer",
    "MatchResult",
    "OpeningHours",
    "ProfileError",
    "ProfileSource",
    "SkillMatch",
    "SkillProfile",
    "Visitor",
    "WorkerStandIn",
    "load_profile",
    "match",
]
