"""Keys name objects in planning files and URLs, so they share one shape everywhere."""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from django.db.models import Q

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
# \Z, not $: Python's $ also matches before a final line break, so "squad\n" would pass here
# and then break the database's check (or, on SQLite, be stored). Forms strip what is typed.
KEY_RE = re.compile(KEY_PATTERN.removesuffix("$") + r"\Z")
KEY_MAX_LENGTH = 80
# Keys appear in URLs such as /squads/<key>/, beside pages such as /squads/new/.
RESERVED_KEYS = frozenset({"new"})
KEY_HELP = "Letters, digits, dots, dashes and underscores; no spaces or slashes."

key_validator = RegexValidator(
    KEY_PATTERN, "Use letters, digits, dots, dashes and underscores only."
)


def key_check(field: str = "key") -> Q:
    """A database check that a key is not empty and holds no slash or whitespace."""
    return Q(**{f"{field}__regex": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"})


KEY_SHAPE = (
    "Use letters, digits, dots, dashes and underscores only, starting with a letter or digit."
)
KEY_RESERVED = "This word is taken by the pages; choose another key."


def key_problem(key: str) -> str | None:
    """What is wrong with a key as typed (stripped), or None: the one check every way in
    (forms, services, planning files, spreadsheets) makes before the database's."""
    if not key:
        return "Give it a key."
    if len(key) > KEY_MAX_LENGTH:
        return f"Keep the key to {KEY_MAX_LENGTH} characters."
    if not KEY_RE.match(key):
        return KEY_SHAPE
    if key.lower() in RESERVED_KEYS:
        return KEY_RESERVED
    return None
