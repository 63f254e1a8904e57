"""Customer outcomes against careless and hostile input: what people could send by mistake or
on purpose is refused with a sentence, and nothing is half-written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from journeys.models import JourneySegment, Milestone, MilestoneReading, Segment

pytestmark = pytest.mark.django_db

HEADER = "milestone,measured_on,actual_days,completion_rate,customers,note\n"


@pytest.fixture
def icp(stage):
    segment = Segment.objects.create(key="icp", name="Mid-market")
    JourneySegment.objects.create(journey=stage.journey, segment=segment)
    return segment


@pytest.fixture
def first_value(icp):
    return Milestone.objects.create(segment=icp, key="first-value", name="First", expected_day=14)


def bearer(person) -> dict:
    _, secret = ApiToken.issue(user=person, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def upload(client, segment, data: bytes):
    return client.post(
        reverse("journeys:milestone_upload", args=[segment.key]),
        {"upload-file": SimpleUploadedFile("r.csv", data, content_type="text/csv")},
    )


def yesterday() -> str:
    return (timezone.localdate() - dt.timedelta(days=1)).isoformat()


# ---------------------------------------------------------------------------------------
# Readings: values that look like something and are nothing
# ---------------------------------------------------------------------------------------


def test_an_upload_whose_days_and_rate_are_only_spaces_is_refused(client, leo, icp, first_value):
    client.force_login(leo)
    response = upload(client, icp, f"{HEADER}first-value,{yesterday()}, , ,,note\n".encode())
    assert response.status_code == 400
    assert "Row 2: Give the actual days, the completion rate, or both." in response.content.decode()
    assert not MilestoneReading.objects.exists()


def test_the_api_refuses_days_and_rate_of_only_spaces(client, olga, icp, first_value):
    items = [{"milestone": "first-value", "actual_days": " ", "completion_rate": "  "}]
    response = client.post(
        f"/api/v1/segments/{icp.key}/milestones/readings",
        items,
        content_type="application/json",
        **bearer(olga),
    )
    assert response.status_code == 400
    assert response.json()["errors"]["readings"] == [
        "Item 1: Give the actual days, the completion rate, or both."
    ]
    assert not MilestoneReading.objects.exists()


def test_an_upload_with_the_nul_character_in_a_note_is_refused(client, leo, icp, first_value):
    client.force_login(leo)
    response = upload(client, icp, f"{HEADER}first-value,{yesterday()},3,,,a\x00b\n".encode())
    assert response.status_code == 400
    assert "Row 2: note must not contain the NUL character." in response.content.decode()
    assert not MilestoneReading.objects.exists()


def test_the_api_refuses_the_nul_character_in_a_note(client, olga, icp, first_value):
    items = [{"milestone": "first-value", "actual_days": "3", "note": "a\x00b"}]
    response = client.post(
        f"/api/v1/segments/{icp.key}/milestones/readings",
        items,
        content_type="application/json",
        **bearer(olga),
    )
    assert response.status_code == 400
    assert response.json()["errors"]["readings"] == [
        "Item 1: note must not contain the NUL character."
    ]
    response = client.post(
        f"/api/v1/segments/{icp.key}/milestones/readings.csv",
        f"{HEADER}first-value,,3,,,a\x00b\n",
        content_type="text/csv",
        **bearer(olga),
    )
    assert response.status_code == 400
    assert not MilestoneReading.objects.exists()
