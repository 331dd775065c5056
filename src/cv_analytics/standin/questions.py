"""Which questions the worker stand-in takes, and when: the production worker's own gates.

``check_input`` (the worker's ``validateAndSanitizeInput``; refused: 400, nothing sent):
over 200 characters as received; then control characters and HTML tags are removed and
whitespace collapsed, and the question is refused when it is shorter than 10 characters,
names an unsafe word (whole words), is less than half letters, has extreme vowel/consonant
balance (under 15% or over 60% vowels, with 5+ letters), looks like a prompt injection
("ignore previous instructions", "system:", ``[INST]``, …) or repeats one character 5+
times in more than two places. The kit adds one rule: characters SQS cannot carry (lone
surrogates, U+FFFE, U+FFFF). Not copied: the worker's two common-English-word checks, whose
word list is tuned to its author's CV and would refuse questions about other profiles' skills.

``check_question_type`` (the worker's ``QuestionValidatorService``; refused: 400 after the
query event): compensation, personal, employment-terms and negative questions.

``OpeningHours``: the worker answers 08:00-20:00 UK time, Monday to Friday, and refuses
(403, after the query event) otherwise, unless the question says "I am the candidate".
The stand-in is always open unless hours are configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_INPUT_CHARS = 200
MIN_INPUT_CHARS = 10
INVALID_QUESTION = "That doesn't look like a valid question — could you rephrase?"
UNSAFE_QUESTION = "That input isn't appropriate for this chatbot."
NOT_TECHNICAL = "I can only answer questions about technical skills, projects, and professional achievements."
BYPASS_PHRASE = "i am the candidate"

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_WHITESPACE = re.compile(r"\s+")
_UNQUEUEABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_UNSAFE = re.compile(
    r"\b(hate|kill|murder|abuse|violence|racist|sexist|discriminat|vulgar|obscene|explicit|porn|sex|xxx)\b",
    re.IGNORECASE,
)
_INJECTION = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"ignore\s+(previous|all|above|prior)\s+(instructions|prompts?|rules?|directives?)",
        r"you\s+are\s+(now|a|an)\s+",
        r"forget\s+(everything|all|previous)",
        r"system\s*:\s*",
        r"assistant\s*:\s*",
        r"<\|im_start\|>",
        r"<\|im_end\|>",
        r"\[INST\]",
        r"\[/INST\]",
        r"###\s*Instruction",
    )
]
_REPEATED = re.compile(r"(.)\1{4,}")
_NON_TECHNICAL = [
    (
        re.compile(pattern, re.IGNORECASE),
        suggestion,
    )
    for pattern, suggestion in (
        (
            r"\b(salary|compensation|pay|wage|money|market rate|below market|above market|remuneration"
            r"|cost|expensive|cheap|affordable)\b",
            "Try asking: 'What experience does the candidate have with enterprise systems?' or "
            "'What technologies has the candidate used in fintech?'",
        ),
        (
            r"\b(personal|private|family|age|married|children|spouse|relationship|home|address|contact)\b",
            "Try asking about specific technologies, projects, or technical accomplishments.",
        ),
        (
            r"\b(willing to relocate|accept offer|consider position|available for|start date|notice period"
            r"|when can|join date)\b",
            "Try asking: 'What are the candidate's key technical strengths?' or "
            "'What projects has the candidate worked on?'",
        ),
        (
            r"\b(weakness|weaknesses|failures|mistakes|regrets|worst|bad at|not good at|struggles with)\b",
            "Try asking about specific technologies, achievements, or successful projects.",
        ),
    )
]


@dataclass(frozen=True, slots=True)
class Refusal:
    error: str
    suggestion: str | None = None


def sanitise(raw: str) -> str:
    text = _CONTROL.sub("", raw)
    text = _TAG.sub("", _SCRIPT.sub("", text))
    return _WHITESPACE.sub(" ", text).strip()


def check_input(raw: str) -> str | Refusal:
    """The sanitised question, or why it is refused."""
    if not raw or len(raw) > MAX_INPUT_CHARS or _UNQUEUEABLE.search(raw):
        return Refusal(INVALID_QUESTION)
    text = sanitise(raw)
    if len(text) < MIN_INPUT_CHARS:
        return Refusal(INVALID_QUESTION)
    if _UNSAFE.search(text):
        return Refusal(UNSAFE_QUESTION)
    if _looks_like_gibberish(text) or any(pattern.search(text) for pattern in _INJECTION):
        return Refusal(INVALID_QUESTION)
    return text


def _looks_like_gibberish(text: str) -> bool:
    letters = re.findall(r"[a-z]", text.lower())
    if sum(character.isascii() and character.isalpha() for character in text) / len(text) < 0.5:
        return True
    if len(letters) >= 5:
        vowels = sum(letter in "aeiou" for letter in letters) / len(letters)
        if vowels < 0.15 or vowels > 0.60:
            return True
    return len(_REPEATED.findall(text)) > 2


def check_question_type(query: str) -> Refusal | None:
    for pattern, suggestion in _NON_TECHNICAL:
        if pattern.search(query):
            return Refusal(NOT_TECHNICAL, suggestion)
    return None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """When the stand-in answers. ``None`` hours: always."""

    opens: time | None = None
    closes: time | None = None
    days: frozenset[int] = frozenset(range(7))
    zone: tzinfo = UTC
    description: str = "always"

    @classmethod
    def parse(cls, *, hours: str | None, days: str, zone: str) -> OpeningHours:
        """``hours`` like ``08:00-20:00`` (unset: always open), ``days`` like ``mon-fri`` or
        ``mon,wed,fri``, ``zone`` an IANA name such as ``Europe/London``; ValueError if not."""
        if not hours:
            return cls()
        opens, closes = (_clock(part) for part in _split(hours, "-", "hours", "08:00-20:00"))
        if opens >= closes:
            raise ValueError(f"business hours {hours!r}: opening must be before closing")
        open_days = _parse_days(days)
        description = f"{days}, {hours} {zone}"
        return cls(opens, closes, open_days, _zone(zone), description)

    def is_open(self, now: datetime) -> bool:
        if self.opens is None or self.closes is None:
            return True
        local = now.astimezone(self.zone)
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def closed_message(self) -> str:
        return (
            f"Our assistant is available during business hours ({self.description}). "
            "Please return then for a full response."
        )


def _split(text: str, separator: str, what: str, example: str) -> tuple[str, str]:
    parts = [part.strip() for part in text.split(separator)]
    if len(parts) != 2:
        raise ValueError(f"business {what} {text!r}: expected e.g. {example}")
    return parts[0], parts[1]


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"business hours: {text!r} is not a time like 08:00") from exc


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(f"business days {text!r}: expected e.g. mon-fri or mon,wed,fri")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return frozenset(days)


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"time zone {name!r} is unknown: use an IANA name such as Europe/London") from exc


def bypasses_hours(raw: str) -> bool:
    return BYPASS_PHRASE in raw.lower()
