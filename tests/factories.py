"""Small builders for a planning world in tests: the fewest rows that make a valid squad."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model

from core.models import Cycle, Profile
from journeys.models import Journey, Stage
from squads.models import Initiative, Membership, Squad

User = get_user_model()


def person(username: str, name: str | None = None, function: str = "Product"):
    user = User.objects.create(username=username, email=f"{username}@example.com")
    Profile.objects.create(user=user, display_name=name or username.title(), function=function)
    return user


def in_group(user, group: str):
    """Put a person in a role group (Leadership, Operations)."""
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def cycle(key: str = "fy2027") -> Cycle:
    return Cycle.objects.create(
        key=key, name=key.upper(), starts=dt.date(2027, 1, 1), ends=dt.date(2027, 12, 31)
    )


def squad(
    key: str,
    *,
    dri,
    cycle: Cycle,
    members=(),
    function: str = "Product",
    name: str | None = None,
) -> Squad:
    """A squad whose DRI and `members` all work in it as `function`; its name defaults to its
    key in words ("first-90-days" is "First 90 Days")."""
    made = Squad.objects.create(
        key=key, name=name or key.replace("-", " ").title(), cycle=cycle, dri=dri
    )
    Membership.objects.create(squad=made, person=dri, function=function)
    for member in members:
        Membership.objects.create(squad=made, person=member, function=function)
    return made


def member(squad: Squad, person, function: str = "Product") -> Membership:
    """Add a person to a squad, working in it as `function`."""
    return Membership.objects.create(squad=squad, person=person, function=function)


def stage(journey_key: str = "lifecycle", key: str = "onboarding", **values) -> Stage:
    journey, _ = Journey.objects.get_or_create(key=journey_key, defaults={"name": journey_key})
    defaults = {
        "name": key.title(),
        "customer_goal": "Get value quickly",
        "today": "Overwhelmed",
        "tomorrow": "Guided",
        "emotion_today": -1,
        "emotion_target": 1,
    }
    defaults.update(values)
    return Stage.objects.create(journey=journey, key=key, **defaults)


def initiative(squad: Squad, key: str = "work", **values) -> Initiative:
    defaults = {
        "title": key.replace("-", " ").title(),
        "function": "Product",
        "starts": dt.date(2027, 1, 4),
        "ends": dt.date(2027, 3, 31),
        "headcount": Decimal("1"),
        "status": "planned",
    }
    defaults.update(values)
    return Initiative.objects.create(squad=squad, key=key, **defaults)


def shown_version(client, url: str, **headers) -> str:
    """The version an editor at `url` gives its form, as a person's browser would post it."""
    import re

    page = client.get(url, headers=headers).content.decode()
    return re.search(r'name="version" value="([^"]*)"', page)[1]
