"""Calendar feeds: a secret link per person, a feed per person and per squad, read back."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from icalendar import Calendar

from dependencies.models import Dependency
from planning import feeds
from planning.models import CalendarToken
from tests import factories as f

pytestmark = pytest.mark.django_db

DUE = dt.date(2027, 2, 15)


@pytest.fixture
def elsewhere(cycle, carol):
    """Carol's squad, which has nothing to do with Alice's."""
    return f.squad("brand", dri=carol, cycle=cycle, function="Marketing", name="Brand Refresh")


@pytest.fixture
def world(needing, providing, elsewhere, dep, carol):
    """What needing needs (the shared `dep`, due on DUE), what it provides, one owned by Carol
    elsewhere, one unrelated."""
    f.initiative(elsewhere, "logo", title="New logo")
    f.initiative(needing, "webinars", title="Webinar series", status="dropped")
    Dependency.objects.filter(pk=dep.pk).update(due=DUE)
    dep.refresh_from_db()
    return {
        "needs": dep,
        "provides": Dependency.objects.create(
            key="feedback",
            from_squad=providing,
            to_squad=needing,
            what="Customer feedback from onboarding calls",
            due=DUE + dt.timedelta(days=10),
            status="done",
        ),
        "carols": Dependency.objects.create(
            key="legal-review",
            from_squad=providing,
            to_function="Legal",
            what="Legal review of the terms",
            due=DUE + dt.timedelta(days=20),
            owner=carol,
        ),
        "unrelated": Dependency.objects.create(
            key="brand-fonts",
            from_squad=elsewhere,
            to_function="Design",
            what="Brand fonts licensed",
            due=DUE + dt.timedelta(days=30),
        ),
    }


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def person_url(secret: str) -> str:
    return reverse("calendar_person", args=[secret])


def squad_url(secret: str, key: str) -> str:
    return reverse("calendar_squad", args=[secret, key])


# ---------------------------------------------------------------------------------------
# The feeds
# ---------------------------------------------------------------------------------------


def test_a_person_feed_has_their_squads_and_what_they_own(client, world, wizard, alice, carol):
    secret = feeds.reset_secret(alice).secret
    calendar = parse(client.get(person_url(secret)))  # no session: calendar apps can't sign in
    assert str(calendar["X-WR-CALNAME"]) == "Throughline: Alice Archer"
    found = events(calendar)
    needs, provides = world["needs"], world["provides"]
    assert set(found) == {
        f"dependency-{needs.pk}-due@throughline",
        f"dependency-{provides.pk}-due@throughline",
        f"initiative-{wizard.pk}-start@throughline",
        f"initiative-{wizard.pk}-end@throughline",
    }

    due = found[f"dependency-{needs.pk}-due@throughline"]
    assert due.decoded("DTSTART") == DUE
    assert due.decoded("DTEND") == DUE + dt.timedelta(days=1)  # all day
    assert due["DTSTART"].params["VALUE"] == "DATE"
    summary = str(due["SUMMARY"])
    assert "First 90 Days" in summary and "Product-led Growth" in summary
    assert "Feature messaging for the wizard" in summary and summary.startswith("Blocking:")
    description = str(due["DESCRIPTION"])
    assert "Owner: Dora Diaz" in description
    assert "Campaign cannot launch without it." in description
    assert "In-app onboarding wizard" in description
    assert str(due["URL"]) == "http://testserver" + reverse("board:board") + "?dep=messaging"

    done = found[f"dependency-{provides.pk}-due@throughline"]
    assert str(done["SUMMARY"]).endswith("(done)")

    start = found[f"initiative-{wizard.pk}-start@throughline"]
    end = found[f"initiative-{wizard.pk}-end@throughline"]
    assert start.decoded("DTSTART") == dt.date(2027, 1, 4)
    assert end.decoded("DTSTART") == dt.date(2027, 3, 31)
    assert end.decoded("DTEND") == dt.date(2027, 4, 1)
    assert str(start["SUMMARY"]) == "First 90 Days: In-app onboarding wizard starts"
    assert str(end["SUMMARY"]) == "First 90 Days: In-app onboarding wizard ends"
    assert str(start["URL"]).endswith(
        reverse("squads:plan", args=["first-90-days"]) + "#initiative-wizard"
    )


def test_a_person_feed_shows_only_that_persons_world(client, world, alice, bob, carol):
    """Alice's link shows Alice's feed, never Carol's, and the other way round."""
    alices = events(parse(client.get(person_url(feeds.reset_secret(alice).secret))))
    carols = events(parse(client.get(person_url(feeds.reset_secret(carol).secret))))
    keys = {k: f"dependency-{d.pk}-due@throughline" for k, d in world.items()}
    assert keys["carols"] not in alices and keys["unrelated"] not in alices
    # Carol leads the unrelated squad and owns one dependency; nothing of Alice's squad.
    assert keys["carols"] in carols and keys["unrelated"] in carols
    assert keys["needs"] not in carols and keys["provides"] not in carols
    assert not any("First 90 Days" in str(e["SUMMARY"]) for e in carols.values())
    assert any("Brand Refresh: New logo" in str(e["SUMMARY"]) for e in carols.values())
    assert not any("Brand Refresh" in str(e["SUMMARY"]) for e in alices.values())
    # Bob is in Alice's squad: the same squad events as Alice, under his own link.
    bobs = events(parse(client.get(person_url(feeds.reset_secret(bob).secret))))
    assert set(bobs) == set(alices)


def test_a_squad_feed_has_what_it_needs_provides_and_builds(client, world, providing, alice):
    secret = feeds.reset_secret(alice).secret
    calendar = parse(client.get(squad_url(secret, "product-led")))
    assert str(calendar["X-WR-CALNAME"]) == "Throughline: Product-led Growth"
    found = events(calendar)
    assert set(found) == {
        f"dependency-{world[k].pk}-due@throughline" for k in ("needs", "provides", "carols")
    }
    # Dropped initiatives are left out of every feed.
    mine = events(parse(client.get(squad_url(secret, "first-90-days"))))
    assert not any("Webinar series" in str(e["SUMMARY"]) for e in mine.values())
    assert client.get(squad_url(secret, "no-such-squad")).status_code == 404


def test_rows_stored_outside_the_planning_range_never_break_a_feed(
    client, world, wizard, alice, providing
):
    # Stored before dates were kept within 2000-01-01..2100-12-31 (written around the
    # checks): the last day a date can hold has no next day, which used to answer 500.
    Dependency.objects.filter(pk=world["needs"].pk).update(due=dt.date(9999, 12, 31))
    Dependency.objects.filter(pk=world["provides"].pk).update(due=dt.date(1, 1, 1))
    type(wizard).objects.filter(pk=wizard.pk).update(ends=dt.date(9999, 12, 31))
    secret = feeds.reset_secret(alice).secret
    for url in (person_url(secret), squad_url(secret, "first-90-days")):
        found = events(parse(client.get(url)))
        # What lies in the range is still there; what does not is left out.
        assert set(found) == {f"initiative-{wizard.pk}-start@throughline"}
    found = events(parse(client.get(squad_url(secret, "product-led"))))
    assert set(found) == {f"dependency-{world['carols'].pk}-due@throughline"}


def test_uids_stay_the_same_across_refreshes(client, world, alice):
    secret = feeds.reset_secret(alice).secret
    first = client.get(person_url(secret)).content
    assert client.get(person_url(secret)).content == first
    # And a dependency's UID survives a change of its date.
    world["needs"].due = DUE + dt.timedelta(days=3)
    world["needs"].save()
    again = events(parse(client.get(person_url(secret))))
    uid = f"dependency-{world['needs'].pk}-due@throughline"
    assert again[uid].decoded("DTSTART") == DUE + dt.timedelta(days=3)


# ---------------------------------------------------------------------------------------
# The secret link
# ---------------------------------------------------------------------------------------


def test_a_wrong_reset_or_turned_off_secret_answers_404(client, world, alice, needing):
    assert client.get(person_url("not-a-secret")).status_code == 404
    old = feeds.reset_secret(alice).secret
    assert client.get(person_url(old)).status_code == 200
    new = feeds.reset_secret(alice).secret
    assert new != old
    assert client.get(person_url(old)).status_code == 404
    assert client.get(squad_url(old, needing.key)).status_code == 404
    assert client.get(person_url(new)).status_code == 200
    feeds.turn_off(alice)
    assert client.get(person_url(new)).status_code == 404
    assert client.get(squad_url(new, needing.key)).status_code == 404


def test_a_deactivated_persons_links_stop_working(client, world, alice):
    secret = feeds.reset_secret(alice).secret
    alice.is_active = False
    alice.save()
    assert client.get(person_url(secret)).status_code == 404


def test_the_secret_is_random_and_found_by_its_digest(alice, bob):
    token = feeds.reset_secret(alice)
    assert len(token.secret) >= 40
    assert token.digest != token.secret and len(token.digest) == 64
    assert feeds.owner_of(token.secret) == alice
    assert feeds.owner_of(token.secret[:-1]) is None
    assert feeds.owner_of(token.digest) is None
    assert feeds.reset_secret(bob).secret != token.secret


def test_the_feeds_refuse_writes(client, world, alice):
    secret = feeds.reset_secret(alice).secret
    assert client.post(person_url(secret)).status_code == 405


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def test_the_page_turns_feeds_on_resets_and_turns_them_off(client, needing, alice):
    page = reverse("calendar")
    assert client.get(page).status_code == 302  # sign-in required for the page itself
    client.force_login(alice)
    content = client.get(page).content.decode()
    assert "Make my calendar links" in content
    assert not CalendarToken.objects.exists()  # looking never makes a secret

    client.post(reverse("calendar_reset"))
    first = CalendarToken.objects.get(user=alice).secret
    content = client.get(page).content.decode()
    assert f"http://testserver{person_url(first)}" in content
    assert f"http://testserver{squad_url(first, 'first-90-days')}" in content
    reset_form = re.search(
        r'<form method="post" action="{}">(.*?)</form>'.format(reverse("calendar_reset")),
        content,
        re.S,
    )
    assert reset_form and "csrfmiddlewaretoken" in reset_form.group(1)
    assert "Reset secret link" in reset_form.group(1)

    client.post(reverse("calendar_reset"))
    second = CalendarToken.objects.get(user=alice).secret
    assert second != first
    content = client.get(page).content.decode()
    assert first not in content and second in content

    client.post(reverse("calendar_off"))
    assert not CalendarToken.objects.exists()
    assert client.get(person_url(second)).status_code == 404


def test_resetting_needs_a_post_with_a_csrf_token(needing, alice):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.get(reverse("calendar_reset")).status_code == 405
    assert strict.post(reverse("calendar_reset")).status_code == 403
    assert not CalendarToken.objects.exists()


def test_one_initiative_needing_another_of_its_squad_names_the_initiative(
    client, needing, wizard, alice
):
    tool = f.initiative(needing, "tool", title="Assessment tool")
    dep = Dependency.objects.create(
        key="internal", from_initiative=wizard, to_initiative=tool, what="Routing API", due=DUE
    )
    found = events(parse(client.get(person_url(feeds.reset_secret(alice).secret))))
    event = found[f"dependency-{dep.pk}-due@throughline"]
    assert str(event["SUMMARY"]) == "First 90 Days needs Routing API from Assessment tool"
    assert "From: First 90 Days (Assessment tool)" in str(event["DESCRIPTION"])
    calendar = parse(client.get(person_url(feeds.reset_secret(alice).secret)))
    assert str(calendar["REFRESH-INTERVAL"].to_ical(), "ascii") == "PT1H"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"


def test_the_admin_lists_who_has_feeds_on_without_their_secret(client, alice):
    token = feeds.reset_secret(alice)
    admin_user = f.person("root", "Root")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    listing = client.get(reverse("admin:planning_calendartoken_changelist"))
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    detail = client.get(reverse("admin:planning_calendartoken_change", args=[token.pk]))
    assert detail.status_code == 200
    assert token.secret not in detail.content.decode()
    assert token.digest not in detail.content.decode()
