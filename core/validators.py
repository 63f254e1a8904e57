"""What every entry path (web forms, the API, spreadsheets, planning files) accepts as a date
and as a required piece of text, so that all of them refuse the same things.

Dates: a planning date lies from 2000-01-01 to 2100-12-31, and where a date is typed as text
(files, the API) it is written exactly YYYY-MM-DD. A date far outside (year 1, year 9999)
is a typing slip, not a plan, and a year 9999 date cannot even be followed by a day.

Text: a required name or title must show something. Whitespace, zero-width spaces and
joiners, the byte-order mark and the other invisible "format" characters (Unicode category
Cf) do not count.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.core.exceptions import ValidationError

DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
DATE_RANGE = f"from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}"
DATE_FORMAT = "YYYY-MM-DD"

# ASCII digits only: \d would also take other scripts' digits.
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def date_in_range(value: dt.date) -> bool:
    return DATE_MIN <= value <= DATE_MAX


def date_problem(value: dt.date | None) -> str | None:
    """Why a date cannot be stored (outside the range), or None when it can."""
    if value is not None and not date_in_range(value):
        return f"{value.isoformat()} is out of range: use a date {DATE_RANGE}."
    return None


def date_from_text(text: str) -> dt.date | None:
    """The day written exactly YYYY-MM-DD (no time, no trailing text), else None."""
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_date(text: str) -> dt.date:
    """Exactly YYYY-MM-DD, a real day, within the range; else ValueError with a sentence."""
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        raise ValueError(f"write the date as {DATE_FORMAT}")
    value = date_from_text(text)
    if value is None:
        raise ValueError(f"{text} is not a day in the calendar")
    problem = date_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def validate_date_in_range(value: dt.date | None) -> None:
    """A form field's validator."""
    problem = date_problem(value)
    if problem:
        raise ValidationError(problem, code="date_range")


def is_blank(text: str | None) -> bool:
    """Nothing a person could see: empty, whitespace, or invisible format characters."""
    return not text or all(c.isspace() or unicodedata.category(c) == "Cf" for c in text)


def validate_visible(value: str | None) -> None:
    """A form field's validator for a required name or title."""
    if value and is_blank(value):
        raise ValidationError(
            "Type something visible: this holds only invisible characters.", code="blank"
        )


def has_surrogate(value: str) -> bool:
    """A lone surrogate: JSON lets "\\ud800" through, but it is not a character, and the
    database refuses it."""
    return any("\ud800" <= c <= "\udfff" for c in value)
