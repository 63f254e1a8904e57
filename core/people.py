"""How people are called on the pages: one home for a person's display name."""

from __future__ import annotations


def display_name(person) -> str:
    """The name a person goes by: their profile's display name, else their username."""
    if person is None:
        return "Someone"
    profile = getattr(person, "profile", None)
    return (getattr(profile, "display_name", "") or "").strip() or person.get_username()


def short_name(person) -> str:
    """How a colleague is called in passing: the first word of the display name."""
    return display_name(person).split()[0]


full_name = display_name


def function_name(name: str) -> str:
    """A function's name as compared: "people ", "People" and "PEOPLE" are one function."""
    return " ".join(name.split()).casefold()
