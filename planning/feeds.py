"""Calendar feeds: dependency due dates and initiative milestones as iCalendar (RFC 5545).

Calendar apps subscribe to a URL and cannot sign in, so each person has a secret link
(planning.models.CalendarToken) that they can reset or turn off from /calendar/. Two feeds
hang off it:

- their own (`mine.ics`): the squads they are a member of, and the dependencies they own;
- any squad's (`squads/<key>.ics`): what everyone signed in may read on its plan anyway.

A squad's events are the due dates of the dependencies it needs and provides, and the start
and end of its initiatives (dropped ones left out). Every event is all-day, with a UID that
stays the same across refreshes and a link back to the item. Days outside the planning range
(core.validators), which nothing lets in now but older rows may hold, are left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from icalendar import Calendar, Event

from core.cycles import current_cycle
from core.people import display_name
from core.validators import DATE_MAX, DATE_MIN, date_in_range
from dependencies.models import Dependency
from planning.models import CalendarToken
from squads.models import Initiative, Membership, Squad

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PRODID = "-//Throughline//Planning calendar//EN"
UID_DOMAIN = "throughline"
REFRESH = dt.timedelta(hours=1)
SUMMARY_WHAT_CHARS = 120
SECRET_BYTES = 32


# ---------------------------------------------------------------------------------------
# The secret link
# ---------------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def reset_secret(user: User) -> CalendarToken:
    """A new secret for this person; the old one (if any) stops working at once."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token, _ = CalendarToken.objects.update_or_create(
        user=user, defaults={"secret": secret, "digest": _digest(secret)}
    )
    return token


def turn_off(user: User) -> None:
    CalendarToken.objects.filter(user=user).delete()


def owner_of(secret: str) -> User | None:
    """The active person whose secret this is, else None."""
    if not secret or len(secret) > CalendarToken._meta.get_field("secret").max_length:
        return None
    token = CalendarToken.objects.select_related("user").filter(digest=_digest(secret)).first()
    if token is None or not hmac.compare_digest(token.secret, secret):
        return None
    return token.user if token.user.is_active else None


# ---------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------


def _short(text: str, limit: int = SUMMARY_WHAT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _stamp(value: dt.datetime | None) -> dt.datetime:
    return (value or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).astimezone(dt.UTC)


def dependency_event(dep: Dependency, url: str) -> Event:
    needer = dep.needer_squad()
    provider_squad = dep.provider_squad()
    provider_name = dep.to_function or provider_squad.name
    provider = provider_name
    if provider_squad and provider_squad.pk == needer.pk and dep.to_initiative:
        provider = dep.to_initiative.title  # one initiative of the squad needs another
    summary = f"{needer.name} needs {_short(dep.what)} from {provider}"
    if dep.blocking and dep.is_open():
        summary = f"Blocking: {summary}"
    if not dep.is_open():
        summary = f"{summary} ({dep.get_status_display().lower()})"
    lines = [
        dep.what,
        "",
        f"Needed by: {needer.name}"
        + (f" ({dep.from_initiative.title})" if dep.from_initiative else ""),
        f"From: {provider_name}"
        + (" (a function)" if dep.to_function else "")
        + (f" ({dep.to_initiative.title})" if dep.to_initiative else ""),
        f"Status: {dep.get_status_display()}",
        f"Blocking: {'yes' if dep.blocking else 'no'}",
        f"Owner: {display_name(dep.owner) if dep.owner else 'nobody named yet'}",
        f"Key: {dep.key}",
    ]
    if dep.note:
        lines += ["", dep.note]
    return Event.new(
        uid=f"dependency-{dep.pk}-due@{UID_DOMAIN}",
        summary=summary,
        description="\n".join(lines),
        start=dep.due,
        end=dep.due + dt.timedelta(days=1),
        url=url,
        stamp=_stamp(dep.updated_at),
        last_modified=_stamp(dep.updated_at),
        categories=["Dependency"],
        transparency="TRANSPARENT",
    )


def initiative_events(initiative: Initiative, url: str) -> list[Event]:
    squad = initiative.squad
    lines = [
        f"{initiative.title}, built by {initiative.function} for {squad.name}",
        f"{initiative.starts:%-d %b %Y} to {initiative.ends:%-d %b %Y}",
        f"Status: {initiative.get_status_display()}",
        f"People: {initiative.headcount.normalize():f}",
    ]
    if initiative.description:
        lines += ["", initiative.description]
    milestones = [("start", initiative.starts, "starts")]
    if initiative.ends != initiative.starts:
        milestones.append(("end", initiative.ends, "ends"))
    # A day outside the planning range (stored before the range was enforced) is left out:
    # the last day a date can hold has no next day to end its event on.
    milestones = [m for m in milestones if date_in_range(m[1])]
    return [
        Event.new(
            uid=f"initiative-{initiative.pk}-{which}@{UID_DOMAIN}",
            summary=f"{squad.name}: {initiative.title} {verb}",
            description="\n".join(lines),
            start=day,
            end=day + dt.timedelta(days=1),
            url=url,
            stamp=_stamp(initiative.updated_at),
            last_modified=_stamp(initiative.updated_at),
            categories=["Initiative"],
            transparency="TRANSPARENT",
        )
        for which, day, verb in milestones
    ]


def _dependencies(condition: Q) -> list[Dependency]:
    return list(
        Dependency.objects.with_parties()
        .filter(condition, due__range=(DATE_MIN, DATE_MAX))  # see initiative_events
        .select_related(
            "from_squad",
            "from_initiative__squad",
            "to_squad",
            "to_initiative__squad",
            "owner__profile",
        )
        .order_by("due", "id")
    )


def _initiatives(squad_ids: Iterable[int]) -> list[Initiative]:
    return list(
        Initiative.objects.filter(squad_id__in=list(squad_ids))
        .exclude(status=Initiative.Status.DROPPED)
        .select_related("squad")
        .order_by("starts", "id")
    )


def build_calendar(
    request: HttpRequest,
    *,
    name: str,
    uid: str,
    description: str,
    dependencies: list[Dependency],
    initiatives: list[Initiative],
) -> Calendar:
    calendar = Calendar.new(
        name=name, description=description, prodid=PRODID, calscale="GREGORIAN", uid=uid
    )
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")  # Outlook's name for the refresh interval
    board = reverse("board:board")
    for dep in dependencies:
        url = request.build_absolute_uri(f"{board}?dep={dep.key}")
        calendar.add_component(dependency_event(dep, url))
    for initiative in initiatives:
        url = request.build_absolute_uri(
            reverse("squads:plan", args=[initiative.squad.key]) + f"#initiative-{initiative.key}"
        )
        for event in initiative_events(initiative, url):
            calendar.add_component(event)
    return calendar


def person_calendar(request: HttpRequest, user: User) -> Calendar:
    squad_ids = list(Membership.objects.filter(person=user).values_list("squad_id", flat=True))
    return build_calendar(
        request,
        name=f"Throughline: {display_name(user)}",
        uid=f"person-{user.pk}@{UID_DOMAIN}",
        description="Due dates of your squads' dependencies and of those you own, "
        "and your squads' initiative milestones.",
        dependencies=_dependencies(
            Q(needer_id__in=squad_ids) | Q(provider_id__in=squad_ids) | Q(owner=user)
        ),
        initiatives=_initiatives(squad_ids),
    )


def squad_calendar(request: HttpRequest, squad: Squad) -> Calendar:
    return build_calendar(
        request,
        name=f"Throughline: {squad.name}",
        uid=f"squad-{squad.pk}@{UID_DOMAIN}",
        description=f"Due dates of what {squad.name} needs and provides, "
        "and its initiative milestones.",
        dependencies=_dependencies(Q(needer_id=squad.pk) | Q(provider_id=squad.pk)),
        initiatives=_initiatives([squad.pk]),
    )


# ---------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------


def _ics(calendar: Calendar, filename: str) -> HttpResponse:
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # The URL is the credential: never kept by a shared cache, never sent on as a referrer.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _owner_or_404(secret: str) -> User:
    user = owner_of(secret)
    if user is None:
        raise Http404("No such calendar feed.")
    return user


@login_not_required
@require_safe
def person_feed(request: HttpRequest, secret: str) -> HttpResponse:
    user = _owner_or_404(secret)
    return _ics(person_calendar(request, user), "throughline.ics")


@login_not_required
@require_safe
def squad_feed(request: HttpRequest, secret: str, key: str) -> HttpResponse:
    _owner_or_404(secret)
    squad = Squad.objects.filter(key=key).first()
    if squad is None:
        raise Http404("No such squad.")
    return _ics(squad_calendar(request, squad), f"throughline-{squad.key}.ics")


def _feed_url(request: HttpRequest, name: str, *args) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


@require_safe
def calendar_page(request: HttpRequest) -> HttpResponse:
    """The person's feed URLs, and the buttons that reset or turn off their secret link."""
    token = CalendarToken.objects.filter(user=request.user).first()
    cycle = current_cycle(request)
    mine = set(Membership.objects.filter(person=request.user).values_list("squad_id", flat=True))
    squads = list(Squad.objects.filter(cycle=cycle).order_by("name", "id")) if cycle else []
    squads.sort(key=lambda s: (s.pk not in mine, s.name.casefold()))
    feeds = []
    if token:
        feeds = [
            {
                "squad": squad,
                "mine": squad.pk in mine,
                "url": _feed_url(request, "calendar_squad", token.secret, squad.key),
            }
            for squad in squads
        ]
    return render(
        request,
        "planning/calendar.html",
        {
            "nav": "calendar",
            "token": token,
            "cycle": cycle,
            "person_url": _feed_url(request, "calendar_person", token.secret) if token else "",
            "feeds": feeds,
        },
    )


@require_POST
def calendar_reset(request: HttpRequest) -> HttpResponse:
    had = CalendarToken.objects.filter(user=request.user).exists()
    reset_secret(request.user)
    if had:
        messages.success(
            request,
            "Your calendar link is new: the old one no longer works. "
            "Subscribe again with the links below.",
        )
    else:
        messages.success(request, "Your calendar links are ready.")
    return redirect("calendar")


@require_POST
def calendar_turn_off(request: HttpRequest) -> HttpResponse:
    turn_off(request.user)
    messages.success(request, "Calendar feeds are off: your links no longer work.")
    return redirect("calendar")
