"""Customer segments: the list, creating, renaming and describing one, and deleting one
nothing uses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from journeys import services
from journeys.models import Journey, JourneySegment, Segment
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


@pytest.fixture
def icp(db):
    return Segment.objects.create(
        key="icp", name="Mid-market SaaS", description="50 to 500 seats", priority=1
    )


@pytest.fixture
def smb(db):
    return Segment.objects.create(key="smb", name="Small teams")


def edit(client, segment, **data):
    """Post the edit form as the page offers it, with `data` changed."""
    posted = {
        f"edit-{segment.pk}-name": segment.name,
        f"edit-{segment.pk}-description": segment.description,
        f"edit-{segment.pk}-priority": segment.priority or "",
        "version": services.segment_version(segment),
    }
    posted.update({f"edit-{segment.pk}-{k}": v for k, v in data.items() if k != "version"})
    if "version" in data:
        posted["version"] = data["version"]
    return client.post(reverse("segment_edit", args=[segment.key]), posted)


# ---------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------


def test_everyone_reads_the_segments_with_what_uses_them(client, icp, smb, needing, carol):
    journey = Journey.objects.create(key="lifecycle", name="Customer lifecycle")
    JourneySegment.objects.create(journey=journey, segment=icp)
    f.initiative(needing, "wizard", segment=icp)
    client.force_login(carol)
    response = client.get(reverse("segments"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Mid-market SaaS") < page.index("Small teams")  # priority first
    assert "50 to 500 seats" in page
    assert "1 initiative" in page and "Customer lifecycle" in page
    assert "Add a segment" not in page and reverse("segment_edit", args=["icp"]) not in page


def test_segment_names_and_descriptions_are_escaped(client, carol):
    Segment.objects.create(key="x", name="<script>alert(1)</script>", description="<b>bold</b>")
    client.force_login(carol)
    page = client.get(reverse("segments")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page


@pytest.mark.parametrize("extra", [2, 40])
def test_the_list_reads_a_bounded_number_of_queries(
    client, leo, extra, django_assert_max_num_queries
):
    journey = Journey.objects.create(key="j", name="J")
    for i in range(extra):
        segment = Segment.objects.create(key=f"s{i}", name=f"Segment {i}")
        JourneySegment.objects.create(journey=journey, segment=segment)
    client.force_login(leo)
    client.get(reverse("segments"))
    with django_assert_max_num_queries(6):
        assert client.get(reverse("segments")).status_code == 200


def test_the_list_needs_a_sign_in(client):
    assert client.get(reverse("segments"))["Location"].startswith("/accounts/login/")


# ---------------------------------------------------------------------------------------
# Creating
# ---------------------------------------------------------------------------------------


def test_leadership_creates_a_segment(client, leo):
    client.force_login(leo)
    response = client.post(
        reverse("segments"),
        {"segment-name": "Enterprise", "segment-description": "1000+ seats", "segment-key": ""},
        follow=True,
    )
    assert "The segment Enterprise is added" in response.content.decode()
    segment = Segment.objects.get()
    assert (segment.key, segment.description, segment.priority) == (
        "enterprise",
        "1000+ seats",
        None,
    )


def test_a_segment_key_in_use_is_refused(client, leo, icp):
    client.force_login(leo)
    response = client.post(reverse("segments"), {"segment-name": "Other", "segment-key": "icp"})
    assert response.status_code == 400
    assert "A segment with this key already exists." in response.content.decode()
    assert Segment.objects.count() == 1


def test_a_segment_needs_a_name(client, leo):
    client.force_login(leo)
    response = client.post(reverse("segments"), {"segment-name": "  "})
    assert response.status_code == 400
    assert not Segment.objects.exists()


@pytest.mark.parametrize("who", ["alice", "olga", "carol"])
def test_others_cannot_create_edit_or_delete(client, request, icp, who):
    client.force_login(request.getfixturevalue(who))
    assert client.post(reverse("segments"), {"segment-name": "Other"}).status_code == 403
    assert client.get(reverse("segment_edit", args=["icp"])).status_code == 403
    assert edit(client, icp, name="Renamed").status_code == 403
    delete = client.post(
        reverse("segment_delete", args=["icp"]), {"version": services.segment_version(icp)}
    )
    assert delete.status_code == 403
    icp.refresh_from_db()
    assert icp.name == "Mid-market SaaS"
    assert Segment.objects.count() == 1


def test_an_unknown_segment_is_404(client, leo, carol):
    for person in (leo, carol):
        client.force_login(person)
        assert client.get(reverse("segment_edit", args=["nope"])).status_code == 404
        assert client.post(reverse("segment_delete", args=["nope"])).status_code == 404


def test_the_writes_need_the_right_method_and_the_csrf_token(client, leo, icp):
    client.force_login(leo)
    assert client.get(reverse("segment_delete", args=["icp"])).status_code == 405
    assert client.put(reverse("segments")).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(leo)
    assert strict.post(reverse("segments"), {"segment-name": "Other"}).status_code == 403
    assert edit(strict, icp, name="Renamed").status_code == 403
    icp.refresh_from_db()
    assert icp.name == "Mid-market SaaS" and Segment.objects.count() == 1


# ---------------------------------------------------------------------------------------
# Renaming and describing
# ---------------------------------------------------------------------------------------


def test_leadership_renames_and_describes_a_segment(client, leo, icp):
    client.force_login(leo)
    response = edit(client, icp, name="Mid-market", description="Who buy for a team", priority=2)
    assert response.status_code == 302
    icp.refresh_from_db()
    assert (icp.name, icp.description, icp.priority, icp.key) == (
        "Mid-market",
        "Who buy for a team",
        2,
        "icp",
    )


def test_over_htmx_the_row_opens_and_saves_in_place(client, leo, icp):
    client.force_login(leo)
    opened = client.get(reverse("segment_edit", args=["icp"]), headers=HX)
    assert opened.status_code == 200
    assert "<html" not in opened.content.decode() and "Save segment" in opened.content.decode()
    posted = {
        f"edit-{icp.pk}-name": "Mid-market",
        f"edit-{icp.pk}-description": "",
        f"edit-{icp.pk}-priority": "",
        "version": services.segment_version(icp),
    }
    saved = client.post(reverse("segment_edit", args=["icp"]), posted, headers=HX)
    assert saved.status_code == 200
    page = saved.content.decode()
    assert "<html" not in page and "Mid-market" in page and "Save segment" not in page


def test_an_edit_someone_saved_meanwhile_is_not_overwritten_unseen(client, leo, icp):
    client.force_login(leo)
    shown = services.segment_version(icp)
    services.segment_update(
        segment=icp, version=shown, name="Their name", description="Theirs", priority=1
    )
    response = edit(client, icp, name="My name", version=shown)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone else saved this segment" in page
    assert "Their name" in page and "My name" in page
    icp.refresh_from_db()
    assert icp.name == "Their name"
    # Saving again, against what is there now, keeps the person's words.
    again = dict(response.context["edit_form"].data.items())
    again["version"] = response.context["edit_version"]
    assert client.post(reverse("segment_edit", args=["icp"]), again).status_code == 302
    icp.refresh_from_db()
    assert icp.name == "My name"


@pytest.mark.parametrize(("priority", "ok"), [("0", False), ("-3", False), ("4", True)])
def test_a_priority_is_a_whole_number_from_one(client, leo, icp, priority, ok):
    client.force_login(leo)
    response = edit(client, icp, priority=priority)
    assert (response.status_code == 302) is ok
    icp.refresh_from_db()
    assert icp.priority == (int(priority) if ok else 1)


# ---------------------------------------------------------------------------------------
# Deleting
# ---------------------------------------------------------------------------------------


def test_a_segment_nothing_uses_is_deleted(client, leo, smb):
    client.force_login(leo)
    response = client.post(
        reverse("segment_delete", args=["smb"]),
        {"version": services.segment_version(smb)},
        follow=True,
    )
    assert "The segment Small teams is deleted" in response.content.decode()
    assert not Segment.objects.exists()


def test_a_segment_initiatives_use_is_not_deleted(client, leo, icp, needing):
    f.initiative(needing, "wizard", segment=icp)
    f.initiative(needing, "content", segment=icp)
    client.force_login(leo)
    response = client.post(
        reverse("segment_delete", args=["icp"]),
        {"version": services.segment_version(icp)},
        follow=True,
    )
    assert (
        "Mid-market SaaS cannot be deleted: 2 initiatives name it as their customer segment"
        in response.content.decode()
    )
    assert Segment.objects.filter(pk=icp.pk).exists()
    assert needing.initiatives.filter(segment=icp).count() == 2


def test_a_segment_a_journey_names_is_not_deleted(leo, icp):
    journey = Journey.objects.create(key="lifecycle", name="Customer lifecycle")
    JourneySegment.objects.create(journey=journey, segment=icp)
    with pytest.raises(ValidationError) as refused:
        services.segment_delete(segment=icp, version=services.segment_version(icp))
    assert "the Customer lifecycle journey names it" in str(refused.value)
    assert JourneySegment.objects.filter(segment=icp).exists()


def test_a_segment_changed_since_the_page_was_read_is_not_deleted(client, leo, smb):
    client.force_login(leo)
    shown = services.segment_version(smb)
    Segment.objects.filter(pk=smb.pk).update(description="Written meanwhile")
    response = client.post(reverse("segment_delete", args=["smb"]), {"version": shown}, follow=True)
    assert "Someone else saved this segment" in response.content.decode()
    assert Segment.objects.get().description == "Written meanwhile"
