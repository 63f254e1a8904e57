"""How people are called on the pages: one home for a person's display name, and the people
a picker offers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q


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


def choosable(*, keep=()):
    """The people a DRI, owner or member picker offers: active accounts with a profile, so an
    administrator's bare account (made with createsuperuser, no name in the company) is not
    offered as anyone's DRI. Ids in `keep` stay offered whatever they are, so editing
    something whose owner is no longer offered does not drop the owner unseen."""
    wanted = Q(is_active=True, profile__isnull=False)
    kept = [pk for pk in keep if pk is not None]
    if kept:
        wanted |= Q(pk__in=kept)
    return (
        get_user_model()
        .objects.filter(wanted)
        .select_related("profile")
        .order_by("profile__display_name", "username")
    )
