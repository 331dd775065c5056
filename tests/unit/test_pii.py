"""The PII redactor: emails and phone numbers go, everything else stays exactly as it was."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cv_analytics.pii import EMAIL_MARK, PHONE_MARK, is_phone_number, redact

# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    ["jane.doe@example.com", "j.doe+cv@mail.example.co.uk", "o'brien@example.ie", "ana@münchen.de"],
)
def test_redact_email_replaced(email):
    """An email address in a question is replaced by [email]."""
    assert redact(f"Contact me at {email}, please") == "Contact me at [email], please"


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+1-800-555-0199",
        "+447700900123",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "555-1234",
        "07700 900123",
        "07700900123",
        "06 12 34 56 78",
        "0034 612 345 678",
    ],
)
def test_redact_phone_replaced(phone):
    """International, national and local phone formats are replaced by [phone]."""
    assert redact(f"Call {phone} today") == "Call [phone] today"


def test_redact_phone_keeps_surrounding_parenthesis():
    """A parenthesis that opens the prose, not the number, is kept."""
    assert redact("(call 555-123-4567)") == "(call [phone])"


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11",
        "Python 3.11 2024",
        "worked there in 2025",
        "from 2019-2025",
        "from 2019 - 2025",
        "2019 2020 2021",
        "on 2025-11-24",
        "at 2025-11-24 10:26:40",
        "on 24.11.2025",
        "on 11-24-2025",
        "build 10.0.19045.2965",
        "host 192.168.1.10 and 192.168.100.200",
        "pi is 3.14159265",
        "a 1 000 000 budget",
        "a 2.500.000 budget",
        "1,000,000 users",
        "v1.2.3",
        "C# 10 and .NET 8",
        "ISO 8601",
        "order 1234567",
        "ticket 555-123-4567x",
        "user@localhost",
    ],
)
def test_redact_lookalikes_kept(text):
    """Years, dates, versions, addresses and figures are not phone numbers and stay unchanged."""
    assert redact(text) == text


def test_redact_both_kinds_in_one_text():
    """A text holding both an email and a phone number loses both."""
    text = "Mail a@b.io or ring +1 555 123 4567; I know Python 3.11 since 2019"

    assert redact(text) == "Mail [email] or ring [phone]; I know Python 3.11 since 2019"


def test_is_phone_number_counts_digits():
    """Fewer than 7 or more than 15 digits is no phone number."""
    assert not is_phone_number("555-123")
    assert is_phone_number("555-1234")
    assert is_phone_number("+123 456 789 012 345")
    assert not is_phone_number("+123 456 789 012 3456")


# --- properties -------------------------------------------------------------------------------

# No per-example deadline: the machine is shared, and speed is not what these tests check.
_unhurried = settings(deadline=None)

_digits = st.text("0123456789", min_size=1)


def _digit_string(size: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=size, max_size=size)


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    """Phone numbers as people write them: international, NANP and national with trunk 0."""
    separator = draw(st.sampled_from([" ", "-", "."]))
    area, exchange, line = draw(_digit_string(3)), draw(_digit_string(3)), draw(_digit_string(4))
    nanp_area = draw(st.sampled_from("23456789")) + area[1:]
    forms = [
        "+"
        + draw(st.sampled_from("123456789"))
        + draw(st.text("0123456789", max_size=1))
        + " "
        + separator.join(draw(st.lists(_digit_string(3), min_size=2, max_size=3)))
        + separator
        + line,
        f"({nanp_area}) {exchange}-{line}",
        f"{nanp_area}{separator}{exchange}{separator}{line}",
        "0" + draw(_digit_string(4)) + " " + draw(_digit_string(6)),
    ]
    return draw(st.sampled_from(forms))


_surrounding = st.text(max_size=40)


@_unhurried
@given(prefix=_surrounding, email=st.emails(), suffix=_surrounding)
def test_redact_generated_email_always_removed(prefix, email, suffix):
    """Any generated address, in any text, is gone after redaction."""
    redacted = redact(f"{prefix}, {email}, {suffix}")

    assert email not in redacted
    assert EMAIL_MARK in redacted


@_unhurried
@given(prefix=_surrounding, phone=phone_numbers(), suffix=_surrounding)
def test_redact_generated_phone_always_removed(prefix, phone, suffix):
    """Any generated phone number, in any text, is gone after redaction."""
    redacted = redact(f"{prefix}, {phone}, {suffix}")

    assert phone not in redacted
    assert PHONE_MARK in redacted


_words = st.from_regex(r"[A-Za-z#.?!]{1,12}", fullmatch=True)
_lookalikes = st.one_of(
    st.integers(0, 999_999).map(str),
    st.integers(1900, 2099).map(str),
    st.dates().map(lambda day: day.isoformat()),
    st.tuples(st.integers(0, 20), st.integers(0, 99)).map(lambda v: f"{v[0]}.{v[1]}"),
    st.tuples(st.integers(1990, 2030), st.integers(1990, 2030)).map(lambda y: f"{y[0]}-{y[1]}"),
    st.lists(st.integers(0, 255), min_size=4, max_size=4).map(lambda ip: ".".join(map(str, ip))),
)


@_unhurried
@given(st.lists(st.tuples(_words, _lookalikes), max_size=12))
def test_redact_text_without_pii_unchanged(pairs):
    """Words mixed with years, dates, versions, IPs and figures come back unchanged."""
    text = " ".join(f"{word} {number}" for word, number in pairs)

    assert redact(text) == text


@_unhurried
@given(st.text(alphabet=st.characters(exclude_characters="@0123456789"), max_size=200))
def test_redact_text_without_at_or_digits_unchanged(text):
    """Arbitrary unicode holding no '@' and no ASCII digit is never touched."""
    assert redact(text) == text


@_unhurried
@given(st.text(max_size=300))
def test_redact_idempotent(text):
    """Redacting twice gives the same text as redacting once."""
    once = redact(text)

    assert redact(once) == once


@_unhurried
@given(st.text(alphabet=st.characters(codec=None), max_size=300))
def test_redact_arbitrary_unicode_does_not_crash(text):
    """Any string, lone surrogates included, gives back a string."""
    assert isinstance(redact(text), str)


@_unhurried
@given(
    st.text(alphabet="0123456789 .-()+@abc", max_size=300),
)
def test_redact_digit_heavy_text_idempotent(text):
    """Text dense in digits and separators (where phone rules bite) redacts idempotently."""
    once = redact(text)

    assert redact(once) == once


# --- adversarial input: must finish (pytest-timeout guards it), no timing asserted -------------

_ADVERSARIAL = {
    "letters": "a" * 100_000,
    "local-parts": "a@" * 50_000,
    "domain-labels": "a@" + "b." * 50_000,
    "domain-no-dot": "a@" + "b" * 100_000,
    "digit-groups": "1 " * 50_000,
    "dotted-digits": "1." * 50_000 + "x",
    "hyphenated-digits": "1-" * 50_000,
    "parentheses": "(" * 100_000,
    "plus-digits": "+1" * 50_000,
    "mixed": "(1) a@b.c " * 10_000,
}


@pytest.mark.parametrize("text", _ADVERSARIAL.values(), ids=_ADVERSARIAL.keys())
def test_redact_adversarial_input_completes(text):
    """Long inputs built to make regexes backtrack are redacted without hanging."""
    redacted = redact(text)

    assert redact(redacted) == redacted
