"""Redaction of email addresses and phone numbers in free text.

Visitors type contact details into the chatbot ("reach me at jane@example.com"); the
analytics store and the weekly email have no business keeping them. ``redact`` replaces
each email address with ``[email]`` and each phone number with ``[phone]``.

What counts as a phone number: an optional ``+``, then digit groups separated by single
spaces, hyphens or dots (a group may sit in parentheses, as in ``(555)`` or ``(0)20``),
holding 7 to 15 digits in all (E.164 allows 15), and not followed by a letter or digit.
Numbers that merely look similar are kept: years and year ranges (``2019-2025``), dates
(``2025-11-24``, ``24.11.2025``), versions (``Python 3.11``, ``10.0.19045.2965``), IPv4
addresses, decimals and thousands (``1 000 000``), and bare digit runs shorter than 10
digits. A run of 10-15 bare digits is treated as a phone number: false positives on long
numbers are the price of never keeping ``07700900123``.

The expressions are linear: every repetition is delimited by a character it cannot
contain, so no input makes them backtrack catastrophically.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"

_LOCAL_CHARS = r"\w.!#$%&'*+/=?^`{|}~-"
_EMAIL = re.compile(
    rf"(?<![{_LOCAL_CHARS}])"  # start at the beginning of a local part, never inside one
    rf"[{_LOCAL_CHARS}]+@"
    r"(?:[\w-]+\.)+[\w-]{2,}"
)
# A candidate: starts at a digit, "+" or "(" that does not continue a word, ends on a digit.
_PHONE_CANDIDATE = re.compile(r"(?<!\w)(?:\+|\()?\d[\d ().-]*\d")
_PARENS = re.compile(r"[^()]*(?:\(\d{1,5}\)[^()]*)*")
_SEPARATOR = re.compile(r" ?[.-]? ?")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DAY_OR_MONTH = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE = re.compile(  # 2025-11-24, 2025.11.24, 24.11.2025, 11-24-2025
    rf"(?:\d{{4}}[-. ]{_DAY_OR_MONTH}[-. ]{_DAY_OR_MONTH}"
    rf"|{_DAY_OR_MONTH}[-. ]{_DAY_OR_MONTH}[-. ]\d{{4}})(?!\d)"
)
_MIN_DIGITS, _MAX_DIGITS, _MIN_BARE_DIGITS = 7, 15, 10


def redact(text: str) -> str:
    """``text`` with every email address and phone number replaced by a marker."""
    return _PHONE_CANDIDATE.sub(_phone_or_kept, _EMAIL.sub(EMAIL_MARK, text))


def _phone_or_kept(match: re.Match[str]) -> str:
    candidate, opening = match.group(), ""
    if candidate.startswith("(") and candidate.count("(") > candidate.count(")"):
        opening, candidate = "(", candidate[1:]  # "(call 555-123-4567)": the "(" is prose
    follower = match.string[match.end() : match.end() + 1]
    if follower.isalnum() or not is_phone_number(candidate):
        return match.group()
    return opening + PHONE_MARK


def is_phone_number(candidate: str) -> bool:
    """Whether ``candidate`` (digits, separators, parentheses) reads as a phone number."""
    if not _PARENS.fullmatch(candidate):
        return False
    flat = candidate.replace("(", "").replace(")", "")
    groups = re.findall(r"\d+", flat)
    separators = re.findall(r"[^\d+]+", flat)
    digits = sum(len(group) for group in groups)
    if not _MIN_DIGITS <= digits <= _MAX_DIGITS:
        return False
    if not all(_SEPARATOR.fullmatch(separator) for separator in separators):
        return False
    if flat.startswith("+"):
        return True
    return _national(flat, groups, separators, digits)


def _national(flat: str, groups: list[str], separators: list[str], digits: int) -> bool:
    """Rules for a number without a leading +, where dates and figures look alike."""
    if len(groups) == 1:
        return digits >= _MIN_BARE_DIGITS
    if _DATE.match(flat) or all(_YEAR.fullmatch(group) for group in groups):
        return False
    if len(groups[0]) == 1 and separators[0].strip() not in {"-", ""}:
        return False  # "3.11 2024": a decimal first
    if _thousands(groups, separators):
        return False
    if any("." in separator for separator in separators):
        # Dots write a phone number only on their own ("555.123.4567"); mixed with spaces
        # they are sentence punctuation or decimals.
        return set(separators) == {"."} and _dotted_phone(groups)
    return True


def _thousands(groups: list[str], separators: list[str]) -> bool:
    """``1 000 000`` or ``2.500.000``: a figure with thousands separators."""
    return (
        len(groups[0]) == 1
        and len(set(separators)) == 1
        and separators[0] in {" ", "."}
        and all(len(group) == 3 for group in groups[1:])
    )


def _dotted_phone(groups: list[str]) -> bool:
    """``555.123.4567`` or ``06.12.34.56.78``, but not an IPv4 address or a version."""
    if len(groups) < 3 or not all(2 <= len(group) <= 4 for group in groups):
        return False
    return not (len(groups) == 4 and all(len(group) <= 3 for group in groups))
