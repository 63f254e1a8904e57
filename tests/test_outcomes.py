"""Segments' success outcomes and their time-to-value milestone maps: setting the outcome,
the milestone page and its track, milestones' edits, readings by check-in, by CSV and by
the API, and initiatives serving milestones."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from journeys import outcomes
from journeys.models import (
    JourneySegment,
    Milestone,
    MilestoneReading,
    Moment,
    Segment,
)
from squads.models import InitiativeMilestone
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def priya(db):
    """The success owner of the mid-market segment: in no group, no squad."""
    return f.person("priya", "Priya Shah", function="Customer Success")


@pytest.fixture
def icp(db, priya, stage):
    """Mid-market, in the lifecycle journey, with an outcome owned by Priya."""
    segment = Segment.objects.create(
        key="icp",
        name="Mid-market",
        success_metric="of seats active",
        success_threshold=Decimal("80"),
        success_unit="%",
        success_within_days=60,
        success_owner=priya,
    )
    JourneySegment.objects.create(journey=stage.journey, segment=segment)
    return segment


@pytest.fixture
def smb(db):
    return Segment.objects.create(key="smb", name="Small teams")


@pytest.fixture
def kickoff(stage):
    return Moment.objects.create(stage=stage, when="Day 1", tomorrow="A kickoff call")


@pytest.fixture
def first_value(icp, kickoff):
    return Milestone.objects.create(
        segment=icp,
        key="first-value",
        name="First report shared",
        expected_day=14,
        position=0,
        moment=kickoff,
    )


@pytest.fixture
def activated(icp):
    return Milestone.objects.create(
        segment=icp,
        key="activated",
        name="Seats active",
        expected_day=60,
        position=1,
        success=True,
    )


def page_url(segment) -> str:
    return reverse("journeys:milestones", args=[segment.key])


def reading(milestone, days_ago=0, **values):
    return MilestoneReading.objects.create(
        milestone=milestone, measured_on=TODAY() - dt.timedelta(days=days_ago), **values
    )


# ---------------------------------------------------------------------------------------
# The success outcome
# ---------------------------------------------------------------------------------------


def outcome_post(client, segment, **data):
    posted = {
        "version": outcomes.outcome_version(segment),
        **{f"outcome-{segment.pk}-{k}": v for k, v in data.items()},
    }
    return client.post(reverse("segment_outcome", args=[segment.key]), posted)


def test_leadership_sets_the_outcome_and_it_reads_as_a_sentence(client, leo, smb, priya):
    client.force_login(leo)
    response = outcome_post(
        client,
        smb,
        threshold="80",
        unit="%",
        metric="of seats active",
        within_days="60",
        owner=priya.pk,
    )
    assert response.status_code == 302
    page = client.get(reverse("segments")).content.decode()
    assert "80% of seats active within 60 days — owner Priya Shah" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"threshold": "-1", "metric": "of seats", "within_days": "60"}, "greater than or equal"),
        ({"threshold": "80", "metric": "of seats", "within_days": "0"}, "greater than or equal"),
        ({"threshold": "80", "metric": "of seats", "within_days": "4000"}, "less than or equal"),
        ({"threshold": "80", "metric": "", "within_days": "60"}, "together"),
        ({"threshold": "", "metric": "of seats", "within_days": ""}, "together"),
    ],
)
def test_a_bad_outcome_is_refused_with_a_message_and_nothing_changes(
    client, leo, icp, data, message
):
    client.force_login(leo)
    response = outcome_post(client, icp, unit="%", **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    icp.refresh_from_db()
    assert icp.success_threshold == Decimal("80") and icp.success_within_days == 60


def test_clearing_every_field_clears_the_outcome(client, leo, icp):
    client.force_login(leo)
    assert outcome_post(client, icp, threshold="", metric="", within_days="").status_code == 302
    icp.refresh_from_db()
    assert icp.success_metric == "" and icp.success_threshold is None
    assert "No success outcome yet" in client.get(reverse("segments")).content.decode()


def test_a_stale_outcome_edit_is_refused_and_shows_what_was_saved(client, leo, icp):
    client.force_login(leo)
    version = outcomes.outcome_version(icp)
    Segment.objects.filter(pk=icp.pk).update(success_within_days=90)
    response = client.post(
        reverse("segment_outcome", args=[icp.key]),
        {
            "version": version,
            f"outcome-{icp.pk}-threshold": "70",
            f"outcome-{icp.pk}-metric": "of seats active",
            f"outcome-{icp.pk}-within_days": "30",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone else saved" in page and "within 90 days" in page
    icp.refresh_from_db()
    assert icp.success_within_days == 90


@pytest.mark.parametrize("who", ["bob", "olga", "priya"])
def test_only_leadership_sets_the_outcome(client, request, icp, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("segment_outcome", args=[icp.key])).status_code == 403
    response = outcome_post(client, icp, threshold="1", metric="x", within_days="2")
    assert response.status_code == 403
    icp.refresh_from_db()
    assert icp.success_threshold == Decimal("80")


def test_the_journey_map_shows_its_segments_outcomes(client, carol, icp):
    client.force_login(carol)
    page = client.get(reverse("journeys:detail", args=["lifecycle"])).content.decode()
    assert "80% of seats active within 60 days — owner Priya Shah" in page
    assert page_url(icp) in page


def test_the_outcome_and_owner_are_escaped(client, carol, icp, priya):
    priya.profile.display_name = "<img src=x onerror=alert(1)>"
    priya.profile.save()
    Segment.objects.filter(pk=icp.pk).update(success_metric="<script>alert(1)</script>")
    client.force_login(carol)
    for url in (reverse("segments"), page_url(icp), reverse("journeys:detail", args=["lifecycle"])):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page, url
        assert "<img src=x" not in page, url


# ---------------------------------------------------------------------------------------
# The milestone map
# ---------------------------------------------------------------------------------------


def test_everyone_reads_the_map_with_track_table_and_behind_marks(
    client, carol, icp, first_value, activated
):
    reading(first_value, days_ago=7, actual_days=Decimal("10"), completion_rate=Decimal("60"))
    reading(first_value, actual_days=Decimal("21"), completion_rate=Decimal("70"))
    reading(activated, completion_rate=Decimal("72"))
    client.force_login(carol)
    response = client.get(page_url(icp))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "<title" in page and "<desc" in page
    assert "Behind: First report shared, Seats active." in page
    # The table: expected day, latest actual days, completion, trend, status.
    row = page[page.index('id="milestone-first-value"') :]
    row = row[: row.index("</tr>")]
    assert "Day 14" in row and 'data-label="Latest actual days">21</td>' in row and "70%" in row
    assert "60% → 70% (improving)" in row and "Behind" in row
    success_row = page[page.index('id="milestone-activated"') :]
    success_row = success_row[: success_row.index("</tr>")]
    assert "below the success threshold of 80%" in success_row
    # The tied moment links to its anchor on the journey map.
    assert reverse("journeys:detail", args=["lifecycle"]) + f"#{first_value.moment.anchor}" in page
    assert (
        f'id="{first_value.moment.anchor}"'
        in client.get(reverse("journeys:detail", args=["lifecycle"])).content.decode()
    )
    assert "Add a milestone" not in page and "Record a reading" not in page


def test_a_milestone_on_track_is_not_marked_behind(client, carol, icp, first_value):
    reading(first_value, actual_days=Decimal("12"), completion_rate=Decimal("90"))
    client.force_login(carol)
    page = client.get(page_url(icp)).content.decode()
    assert "On track" in page and "is-behind" not in page and "None is behind." in page


def test_milestone_names_are_escaped_in_the_svg_and_the_table(client, carol, icp):
    Milestone.objects.create(segment=icp, key="x", name="<script>alert(1)</script>", expected_day=3)
    client.force_login(carol)
    page = client.get(page_url(icp)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # the tooltip, the table
    start = page.index("milestone-track")
    svg = page[start : page.index("</svg>", start)]
    assert '<text class="label"' in svg and "&lt;script&gt;alert(1)&lt;/scrip…" in svg


def test_an_unknown_segment_is_404(client, carol):
    client.force_login(carol)
    assert client.get(reverse("journeys:milestones", args=["nope"])).status_code == 404


def test_the_map_shows_the_initiatives_serving_a_milestone_that_the_person_may_read(
    client, carol, alice, needing, providing, first_value
):
    wizard = f.initiative(needing, "wizard", title="Guided setup")
    hidden = f.initiative(providing, "secret", title="Hidden draft work")
    InitiativeMilestone.objects.create(initiative=wizard, milestone=first_value)
    InitiativeMilestone.objects.create(initiative=hidden, milestone=first_value)
    providing.cycle.restrict_drafts = True
    providing.cycle.save()
    from squads.models import Plan

    Plan.objects.update_or_create(squad=needing, defaults={"approved_at": timezone.now()})
    client.force_login(carol)
    page = client.get(page_url(first_value.segment)).content.decode()
    assert "Guided setup" in page and reverse("squads:detail", args=[needing.key]) in page
    assert "Hidden draft work" not in page


# Leadership's edits


def new_milestone(client, segment, **data):
    posted = {"new-name": "Kickoff done", "new-expected_day": "7"}
    posted.update({f"new-{k}": v for k, v in data.items()})
    return client.post(reverse("journeys:milestone_new", args=[segment.key]), posted)


def test_leadership_adds_a_milestone_tied_to_a_moment(client, leo, icp, kickoff):
    client.force_login(leo)
    response = new_milestone(client, icp, moment=kickoff.pk, success="on")
    assert response.status_code == 302
    milestone = Milestone.objects.get(segment=icp, key="kickoff-done")
    assert milestone.moment == kickoff and milestone.success and milestone.expected_day == 7
    page = client.get(page_url(icp)).content.decode()
    assert "Kickoff done" in page and "success milestone" in page


def test_marking_a_success_milestone_unmarks_the_other(client, leo, icp, first_value, activated):
    client.force_login(leo)
    response = client.post(
        reverse("journeys:milestone_edit", args=[icp.key, first_value.key]),
        {
            "version": outcomes.milestone_version(first_value),
            "edit-name": first_value.name,
            "edit-expected_day": "14",
            "edit-moment": first_value.moment_id,
            "edit-success": "on",
        },
    )
    assert response.status_code == 302
    assert list(Milestone.objects.filter(segment=icp, success=True)) == [first_value]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"expected_day": "-3"}, "greater than or equal to 0"),
        ({"expected_day": "soon"}, "Enter a whole number"),
        ({"key": "Bad Key!"}, "letters"),
    ],
)
def test_a_bad_milestone_is_refused_with_a_message(client, leo, icp, data, message):
    client.force_login(leo)
    response = new_milestone(client, icp, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Milestone.objects.filter(segment=icp).exists()


def test_a_moment_of_a_journey_the_segment_is_not_in_is_refused(client, leo, smb, kickoff):
    client.force_login(leo)
    response = new_milestone(client, smb, moment=kickoff.pk)
    assert response.status_code == 400
    assert not Milestone.objects.exists()


def test_a_duplicate_key_is_refused(client, leo, icp, first_value):
    client.force_login(leo)
    response = new_milestone(client, icp, key="first-value")
    assert response.status_code == 400
    assert "already has a milestone" in response.content.decode()


def test_leadership_reorders_milestones(client, leo, icp, first_value, activated):
    client.force_login(leo)
    url = reverse("journeys:milestone_move", args=[icp.key, activated.key])
    assert client.post(url, {"direction": "up"}).status_code == 302
    order = list(
        Milestone.objects.filter(segment=icp).order_by("position").values_list("key", flat=True)
    )
    assert order == ["activated", "first-value"]
    assert client.post(url, {"direction": "sideways"}).status_code == 400


def test_removing_asks_first_and_says_how_many_readings_go(client, leo, icp, first_value):
    reading(first_value, days_ago=1, actual_days=Decimal("9"))
    reading(first_value, actual_days=Decimal("8"))
    client.force_login(leo)
    url = reverse("journeys:milestone_remove", args=[icp.key, first_value.key])
    page = client.get(url).content.decode()
    assert "its 2 readings" in page and "Remove First report shared and 2 readings" in page
    assert Milestone.objects.filter(pk=first_value.pk).exists()
    response = client.post(url, {"version": outcomes.milestone_version(first_value)}, follow=True)
    assert "removed, with 2 readings" in response.content.decode()
    assert not Milestone.objects.filter(pk=first_value.pk).exists()
    assert not MilestoneReading.objects.exists()


def test_a_removal_of_a_milestone_changed_meanwhile_is_refused(client, leo, icp, first_value):
    client.force_login(leo)
    url = reverse("journeys:milestone_remove", args=[icp.key, first_value.key])
    version = outcomes.milestone_version(first_value)
    Milestone.objects.filter(pk=first_value.pk).update(name="Renamed")
    response = client.post(url, {"version": version}, follow=True)
    assert "was not removed" in response.content.decode()
    assert Milestone.objects.filter(pk=first_value.pk).exists()


@pytest.mark.parametrize("who", ["bob", "olga", "priya", "carol"])
def test_only_leadership_changes_milestones(client, request, icp, first_value, who):
    client.force_login(request.getfixturevalue(who))
    key, mkey = icp.key, first_value.key
    assert new_milestone(client, icp).status_code == 403
    assert client.get(reverse("journeys:milestone_edit", args=[key, mkey])).status_code == 403
    assert client.get(reverse("journeys:milestone_remove", args=[key, mkey])).status_code == 403
    assert client.post(reverse("journeys:milestone_remove", args=[key, mkey])).status_code == 403
    move = reverse("journeys:milestone_move", args=[key, mkey])
    assert client.post(move, {"direction": "up"}).status_code == 403
    assert Milestone.objects.filter(segment=icp).count() == 1


def test_another_segments_milestone_is_not_found_here(client, leo, icp, smb, first_value):
    client.force_login(leo)
    for route in ("milestone_edit", "milestone_remove", "milestone_reading"):
        assert (
            client.get(reverse(f"journeys:{route}", args=[smb.key, first_value.key])).status_code
            == 404
        )
    url = reverse("journeys:milestone_remove", args=[smb.key, first_value.key])
    assert client.post(url, {"version": outcomes.milestone_version(first_value)}).status_code == 404
    assert Milestone.objects.filter(pk=first_value.pk).exists()


# ---------------------------------------------------------------------------------------
# Readings: the check-in form
# ---------------------------------------------------------------------------------------


def check_in(client, milestone, **data):
    url = reverse("journeys:milestone_reading", args=[milestone.segment.key, milestone.key])
    return client.post(url, {f"reading-{k}": v for k, v in data.items()})


@pytest.mark.parametrize("who", ["leo", "olga", "priya"])
def test_leadership_operations_and_the_owner_record_a_reading(client, request, first_value, who):
    client.force_login(request.getfixturevalue(who))
    page = client.get(
        reverse("journeys:milestone_reading", args=["icp", first_value.key])
    ).content.decode()
    assert "replaced by this one" in page  # the help text says what a same-day reading does
    response = check_in(
        client, first_value, actual_days="12.5", completion_rate="64", customers="40"
    )
    assert response.status_code == 302
    saved = MilestoneReading.objects.get(milestone=first_value)
    assert saved.measured_on == TODAY() and saved.actual_days == Decimal("12.5")
    assert saved.source == "check_in"


@pytest.mark.parametrize("who", ["bob", "alice", "carol"])
def test_others_may_not_record_a_reading(client, request, first_value, who):
    client.force_login(request.getfixturevalue(who))
    assert check_in(client, first_value, actual_days="3").status_code == 403
    assert not MilestoneReading.objects.exists()


def test_a_reading_of_the_same_day_replaces_that_days_reading(client, olga, first_value):
    client.force_login(olga)
    check_in(client, first_value, actual_days="12", note="first")
    response = check_in(client, first_value, completion_rate="75", note="second")
    assert response.status_code == 302
    assert MilestoneReading.objects.filter(milestone=first_value).count() == 1
    saved = MilestoneReading.objects.get(milestone=first_value)
    assert saved.note == "second" and saved.completion_rate == Decimal("75")
    assert "replaced that day" in client.get(page_url(first_value.segment)).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": "nothing measured"}, "Give the actual days, the completion rate, or both."),
        ({"completion_rate": "120"}, "less than or equal to 100"),
        ({"actual_days": "-2"}, "greater than or equal to 0"),
        ({"actual_days": "3", "measured_on": "2999-01-01"}, "in the future"),
    ],
)
def test_a_bad_reading_is_refused_with_a_message(client, olga, first_value, data, message):
    client.force_login(olga)
    response = check_in(client, first_value, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MilestoneReading.objects.exists()


# ---------------------------------------------------------------------------------------
# Readings: the CSV upload
# ---------------------------------------------------------------------------------------

HEADER = "milestone,measured_on,actual_days,completion_rate,customers,note\n"


def upload(client, segment, text: str | bytes, name="readings.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("journeys:milestone_upload", args=[segment.key]),
        {"upload-file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def test_an_upload_creates_and_replaces_readings_and_says_how_many(
    client, priya, icp, first_value, activated
):
    reading(first_value, days_ago=1, actual_days=Decimal("30"))
    yesterday = (TODAY() - dt.timedelta(days=1)).isoformat()
    client.force_login(priya)
    response = upload(
        client,
        icp,
        HEADER
        + f"first-value,{yesterday},11,,30,replaces\n"
        + f"activated,{TODAY().isoformat()},,81.5,30,\n",
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "1 reading created, 1 reading replaced." in page
    assert MilestoneReading.objects.get(milestone=first_value).actual_days == Decimal("11")
    assert MilestoneReading.objects.get(milestone=activated).source == "csv"


def test_an_upload_with_errors_lists_each_with_its_row_and_writes_nothing(
    client, olga, icp, smb, first_value
):
    Milestone.objects.create(segment=smb, key="other", name="Other", expected_day=3)
    client.force_login(olga)
    response = upload(
        client,
        icp,
        HEADER
        + f"first-value,{TODAY().isoformat()},11,,,fine\n"
        + "other,2026-01-01,3,,,another segment's\n"
        + "first-value,yesterday,3,,,\n"
        + "first-value,2026-01-02,,140,,\n"
        + "first-value,2026-01-03,,,,\n"
        + "first-value,2026-01-04\n",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Row 3: Mid-market has no milestone with the key “other”." in page
    assert "Row 4: measured_on must be a date written YYYY-MM-DD" in page
    assert "Row 5: completion_rate must be from 0 to 100." in page
    assert "Row 6: Give the actual days, the completion rate, or both." in page
    assert "Row 7: it has 2 cells where the header names 6." in page
    assert page.index("Row 3:") < page.index("Row 6:") < page.index("Row 7:")  # file order
    assert not MilestoneReading.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("first-value,2026-01-01,3,,,\n", "Row 1 must be the header"),
        ("milestone,measured_on,actual_days\nfirst-value,2026-01-01,3\n", "it lacks"),
        ("", "The submitted file is empty"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_an_upload_of_the_wrong_shape_is_refused(client, olga, icp, first_value, text, message):
    client.force_login(olga)
    response = upload(client, icp, text)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not MilestoneReading.objects.exists()


def test_an_upload_over_the_limits_is_refused(client, olga, icp, first_value):
    client.force_login(olga)
    big = HEADER + "first-value,2026-01-01,3,,,\n" * 5001
    response = upload(client, icp, big)
    assert response.status_code == 400
    assert "more than 5,000 rows" in response.content.decode()
    huge = HEADER + ("first-value,2026-01-01,3,,," + "x" * 500 + "\n") * 2500
    response = upload(client, icp, huge)
    assert response.status_code == 400
    assert "larger than 1 MB" in response.content.decode()
    assert not MilestoneReading.objects.exists()


def test_an_upload_escapes_what_the_file_says(client, olga, icp, first_value):
    client.force_login(olga)
    response = upload(client, icp, HEADER + "<script>x</script>,2026-01-01,3,,,\n")
    page = response.content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_others_may_not_upload(client, request, icp, first_value, who):
    client.force_login(request.getfixturevalue(who))
    response = upload(client, icp, HEADER + f"first-value,{TODAY().isoformat()},3,,,\n")
    assert response.status_code == 403
    assert not MilestoneReading.objects.exists()


# ---------------------------------------------------------------------------------------
# Readings: the API
# ---------------------------------------------------------------------------------------


def bearer(person) -> dict:
    _, secret = ApiToken.issue(user=person, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def api_url(segment, suffix="") -> str:
    return f"/api/v1/segments/{segment.key}/milestones{suffix}"


def test_the_api_lists_milestones_with_their_latest_readings(client, bob, icp, first_value):
    reading(first_value, days_ago=3, actual_days=Decimal("16"))
    reading(first_value, actual_days=Decimal("13"), completion_rate=Decimal("55"))
    response = client.get(api_url(icp), **bearer(bob))
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "80% of seats active within 60 days — owner Priya Shah"
    (item,) = body["milestones"]
    assert item["key"] == "first-value" and item["expected_day"] == 14
    assert item["moment"] == "lifecycle/onboarding/day-1"
    assert item["latest_reading"]["actual_days"] == "13.0"
    assert item["latest_reading"]["measured_on"] == TODAY().isoformat()


def test_the_api_records_readings_for_a_permitted_person(client, priya, icp, first_value):
    items = [
        {"milestone": "first-value", "measured_on": TODAY().isoformat(), "actual_days": 12},
        {"milestone": "first-value", "measured_on": "2026-01-01", "completion_rate": 50},
    ]
    response = client.post(
        api_url(icp, "/readings"),
        json.dumps(items),
        content_type="application/json",
        **bearer(priya),
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 2, "replaced": 0}
    assert MilestoneReading.objects.filter(source="api").count() == 2


def test_the_api_refuses_a_person_who_may_not_record(client, bob, icp, first_value):
    items = [{"milestone": "first-value", "actual_days": 12}]
    response = client.post(
        api_url(icp, "/readings"),
        json.dumps(items),
        content_type="application/json",
        **bearer(bob),
    )
    assert response.status_code == 403
    assert not MilestoneReading.objects.exists()


def test_the_api_refuses_bad_readings_all_or_nothing(client, olga, icp, first_value):
    items = [
        {"milestone": "first-value", "actual_days": 12},
        {"milestone": "nope", "actual_days": 3},
        {"milestone": "first-value", "completion_rate": 101},
    ]
    response = client.post(
        api_url(icp, "/readings"),
        json.dumps(items),
        content_type="application/json",
        **bearer(olga),
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["readings"]
    assert "Item 2: Mid-market has no milestone with the key “nope”." in errors
    assert "Item 3: completion_rate must be from 0 to 100." in errors
    assert not MilestoneReading.objects.exists()


def test_the_api_takes_a_csv_body_too(client, olga, icp, first_value):
    body = HEADER + f"first-value,{TODAY().isoformat()},9,,,\n"
    response = client.post(
        api_url(icp, "/readings.csv"), body, content_type="text/csv", **bearer(olga)
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 1, "replaced": 0}
    response = client.post(
        api_url(icp, "/readings.csv"),
        HEADER + "first-value,never,9,,,\n",
        content_type="text/csv",
        **bearer(olga),
    )
    assert response.status_code == 400
    assert "Row 2: measured_on must be a date" in response.json()["errors"]["readings"][0]
    assert MilestoneReading.objects.count() == 1


def test_the_api_does_not_know_an_unknown_segment(client, olga):
    assert client.get("/api/v1/segments/nope/milestones", **bearer(olga)).status_code == 404


# ---------------------------------------------------------------------------------------
# The feed address
# ---------------------------------------------------------------------------------------


def test_leadership_sets_the_feed_address(client, leo, icp):
    client.force_login(leo)
    url = reverse("journeys:milestone_feed", args=[icp.key])
    response = client.post(url, {"feed-url": "ftp://example.com/readings.csv"})
    assert response.status_code == 400
    assert "must start with http:// or https://" in response.content.decode()
    assert client.post(url, {"feed-url": "https://example.com/r.csv"}).status_code == 302
    icp.refresh_from_db()
    assert icp.milestone_feed_url == "https://example.com/r.csv"
    assert "Not pulled yet" in client.get(page_url(icp)).content.decode()


@pytest.mark.parametrize("who", ["olga", "priya", "bob"])
def test_only_leadership_sets_the_feed_address(client, request, icp, who):
    client.force_login(request.getfixturevalue(who))
    url = reverse("journeys:milestone_feed", args=[icp.key])
    assert client.post(url, {"feed-url": "https://example.com/r.csv"}).status_code == 403
    icp.refresh_from_db()
    assert icp.milestone_feed_url == ""


# ---------------------------------------------------------------------------------------
# Initiatives serve milestones; squads show the outcomes they serve
# ---------------------------------------------------------------------------------------


def initiative_data(**overrides) -> dict:
    data = {
        "key": "wizard",
        "title": "In-app onboarding wizard",
        "description": "",
        "function": "Product",
        "stage": "",
        "segment": "",
        "starts": "2027-03-01",
        "ends": "2027-06-30",
        "headcount": "2",
        "status": "planned",
        "impact_team": "",
        "impact_business": "",
        "impact_customer": "",
        "counter_measure": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def smb_milestone(smb):
    return Milestone.objects.create(segment=smb, key="invited", name="Team invited", expected_day=5)


def test_the_new_initiative_editor_offers_every_segments_milestones_grouped(
    client, bob, needing, first_value, smb_milestone
):
    client.force_login(bob)
    page = client.get(reverse("squads:initiative_create", args=[needing.key])).content.decode()
    assert "Serves milestones" in page
    assert '<optgroup label="Mid-market">' in page and '<optgroup label="Small teams">' in page
    assert "Day 14: First report shared" in page and "Day 5: Team invited" in page


def test_an_initiative_is_created_serving_milestones(
    client, bob, needing, icp, first_value, activated
):
    client.force_login(bob)
    response = client.post(
        reverse("squads:initiative_create", args=[needing.key]),
        initiative_data(segment=icp.pk, milestones=[first_value.pk, activated.pk]),
    )
    assert response.status_code == 302
    links = InitiativeMilestone.objects.filter(initiative__key="wizard")
    assert {link.milestone_id for link in links} == {first_value.pk, activated.pk}
    page = client.get(reverse("squads:plan", args=[needing.key])).content.decode()
    assert "Serves" in page and "First report shared (day 14, Mid-market)" in page


def test_a_milestone_of_another_segment_is_refused_and_nothing_is_made(
    client, bob, needing, icp, smb_milestone
):
    client.force_login(bob)
    response = client.post(
        reverse("squads:initiative_create", args=[needing.key]),
        initiative_data(segment=icp.pk, milestones=[smb_milestone.pk]),
    )
    assert response.status_code in (200, 400)
    assert "Choose milestones of Mid-market" in response.content.decode()
    assert not InitiativeMilestone.objects.exists()
    assert not needing.initiatives.filter(key="wizard").exists()


def test_the_editor_of_an_initiative_with_a_segment_offers_that_segments_milestones(
    client, bob, needing, icp, first_value, smb_milestone
):
    wizard = f.initiative(needing, "wizard", segment=icp)
    InitiativeMilestone.objects.create(initiative=wizard, milestone=first_value)
    client.force_login(bob)
    edit = reverse("squads:initiative_edit", args=[needing.key, "wizard"])
    page = client.get(edit).content.decode()
    assert "First report shared" in page and "Team invited" not in page
    assert f'<option value="{first_value.pk}" selected>' in page


def test_an_edit_changes_the_milestones_served(client, bob, needing, icp, first_value, activated):
    wizard = f.initiative(needing, "wizard", segment=icp)
    InitiativeMilestone.objects.create(initiative=wizard, milestone=first_value)
    client.force_login(bob)
    edit = reverse("squads:initiative_edit", args=[needing.key, "wizard"])
    data = initiative_data(
        segment=icp.pk, milestones=[activated.pk], version=f.shown_version(client, edit)
    )
    assert client.post(edit, data).status_code == 302
    assert [link.milestone for link in wizard.milestone_links.all()] == [activated]


def test_a_stale_edit_keeps_the_milestones_chosen_and_saves_none_of_it(
    client, bob, needing, icp, first_value, activated
):
    wizard = f.initiative(needing, "wizard", segment=icp)
    client.force_login(bob)
    edit = reverse("squads:initiative_edit", args=[needing.key, "wizard"])
    version = f.shown_version(client, edit)
    from squads import services

    services.initiative_update(
        initiative=wizard,
        values={**{n: getattr(wizard, n) for n in services.InitiativeFields.__annotations__}},
        by=bob,
        version=wizard.version,
    )
    response = client.post(
        edit, initiative_data(segment=icp.pk, milestones=[activated.pk], version=version)
    )
    page = response.content.decode()
    assert "conflict" in page.lower()
    assert f'<option value="{activated.pk}" selected>' in page  # the choice is still there
    assert not InitiativeMilestone.objects.exists()
    # "Keep all of my draft" saves the draft with the milestones chosen.
    import html
    import re

    draft = html.unescape(re.search(r'name="draft" value="([^"]*)"', page)[1])
    shown = re.search(r'name="version" value="([^"]*)"', page)[1]
    response = client.post(
        edit,
        initiative_data(
            segment=icp.pk,
            milestones=[activated.pk, first_value.pk],
            version=shown,
            draft=draft,
            choice="mine",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    served = {link.milestone_id for link in InitiativeMilestone.objects.all()}
    assert served == {activated.pk, first_value.pk}


def test_the_squad_and_plan_pages_show_the_outcomes_the_squad_serves(
    client, carol, needing, providing, icp, stage
):
    f.initiative(needing, "wizard", segment=icp)
    from squads.models import SquadStage

    SquadStage.objects.create(squad=providing, stage=stage)  # a stage of icp's journey
    sentence = "80% of seats active within 60 days — owner Priya Shah"
    client.force_login(carol)
    for squad in (needing, providing):
        for route in ("squads:detail", "squads:plan"):
            page = client.get(reverse(route, args=[squad.key])).content.decode()
            assert sentence in page, (squad.key, route)
            assert page_url(icp) in page


def test_a_dropped_initiative_does_not_make_a_squad_serve_a_segment(client, carol, needing, icp):
    f.initiative(needing, "wizard", segment=icp, status="dropped")
    client.force_login(carol)
    page = client.get(reverse("squads:detail", args=[needing.key])).content.decode()
    assert "of seats active" not in page


def test_a_segment_with_milestones_is_not_deleted_with_them(client, leo, smb, smb_milestone):
    client.force_login(leo)
    from journeys import services

    response = client.post(
        reverse("segment_delete", args=[smb.key]),
        {"version": services.segment_version(smb)},
        follow=True,
    )
    assert "its time-to-value map has 1 milestone" in response.content.decode()
    assert Milestone.objects.filter(pk=smb_milestone.pk).exists()


@pytest.mark.parametrize("count", [2, 30])
def test_the_map_reads_a_bounded_number_of_queries(
    client, carol, icp, needing, count, django_assert_max_num_queries
):
    for n in range(count):
        milestone = Milestone.objects.create(
            segment=icp, key=f"m{n}", name=f"Milestone {n}", expected_day=n * 3, position=n
        )
        for back in range(7):
            reading(milestone, days_ago=back, actual_days=Decimal(n + back))
        initiative = f.initiative(needing, f"work-{n}")
        InitiativeMilestone.objects.create(initiative=initiative, milestone=milestone)
    client.force_login(carol)
    client.get(page_url(icp))  # the session and the cycle settle
    with django_assert_max_num_queries(16):
        response = client.get(page_url(icp))
    assert response.status_code == 200
    assert response.content.decode().count("Work ") >= count


def test_a_stale_milestone_edit_is_refused_and_shows_what_was_saved(client, leo, icp, first_value):
    client.force_login(leo)
    edit = reverse("journeys:milestone_edit", args=[icp.key, first_value.key])
    version = f.shown_version(client, edit)
    Milestone.objects.filter(pk=first_value.pk).update(name="Renamed by someone")
    response = client.post(
        edit, {"version": version, "edit-name": "Mine", "edit-expected_day": "20"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone else saved this milestone" in page and "Renamed by someone" in page
    assert 'value="Mine"' in page
    first_value.refresh_from_db()
    assert first_value.name == "Renamed by someone" and first_value.expected_day == 14


def test_the_outcome_editor_opens_and_saves_in_place_with_htmx(client, leo, icp):
    client.force_login(leo)
    url = reverse("segment_outcome", args=[icp.key])
    hx = {"HX-Request": "true"}
    response = client.get(url, headers=hx)
    page = response.content.decode()
    assert "<html" not in page and "Save success outcome" in page and 'value="80"' in page
    version = outcomes.outcome_version(Segment.objects.get(pk=icp.pk))
    response = client.post(
        url,
        {
            "version": version,
            f"outcome-{icp.pk}-threshold": "90",
            f"outcome-{icp.pk}-unit": "%",
            f"outcome-{icp.pk}-metric": "of seats active",
            f"outcome-{icp.pk}-within_days": "45",
        },
        headers=hx,
    )
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert "90% of seats active within 45 days" in page and "owner" not in page


def test_the_milestone_editor_offers_only_moments_of_the_segments_journeys(
    client, leo, icp, kickoff
):
    elsewhere = f.stage("other-journey", "trial", name="Trial")
    Moment.objects.create(stage=elsewhere, when="Day 2", tomorrow="Not for this segment")
    client.force_login(leo)
    page = client.get(page_url(icp)).content.decode()
    assert "A kickoff call" in page and "Not for this segment" not in page
