"""Webhook and chat subscriptions through the API: the same rules as the settings pages."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.events import Event
from tests.test_api import bearer, post, put
from webhooks import services
from webhooks.models import Attempt, Subscription

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks"


@pytest.fixture
def demo(db):
    call_command("load_demo", "--allow-production", stdout=io.StringIO())


@pytest.fixture
def example_hosts(settings):
    """hooks.example.com is not looked up (it is no receiver of ours)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True


def payload(**values) -> dict:
    return {
        "name": "Release notes",
        "url": "https://hooks.example.com/throughline",
        "format": "json",
        "events": ["dependency.declined", "finding.opened"],
        "squad": None,
        **values,
    }


def test_operations_add_read_rotate_and_delete_a_subscription(demo, example_hosts):
    sam = bearer("sam")
    made = post(sam, URL, payload())
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["dependency.declined", "finding.opened"] and body["active"]
    stored = Subscription.objects.get(pk=body["id"])
    assert stored.secret == body["secret"] and stored.created_by.username == "sam"

    # The secret is in the answers that make one, nowhere else.
    detail = sam.get(f"{URL}/{body['id']}").json()
    assert "secret" not in detail and detail["name"] == "Release notes"
    listed = sam.get(URL).json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0]
    rotated = post(sam, f"{URL}/{body['id']}/secret", {}).json()
    assert rotated["secret"] != body["secret"]
    assert Subscription.objects.get(pk=body["id"]).secret == rotated["secret"]

    twice = ["finding.opened", "dependency.done", "finding.opened"]
    changed = put(sam, f"{URL}/{body['id']}", payload(name="Renamed", active=False, events=twice))
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert changed.json()["events"] == ["finding.opened", "dependency.done"]
    assert Subscription.objects.get(pk=body["id"]).secret == rotated["secret"]

    assert sam.delete(f"{URL}/{body['id']}").status_code == 204
    assert sam.get(f"{URL}/{body['id']}").status_code == 404
    assert not Subscription.objects.exists()


def test_a_dri_manages_chat_channels_of_their_own_squad_only(demo, example_hosts):
    company = post(bearer("sam"), URL, payload()).json()
    omar = bearer("omar")  # the Product-led Growth squad's DRI

    mine = post(omar, URL, payload(format="slack", squad="product-led"))
    assert mine.status_code == 201, mine.content
    assert post(omar, URL, payload(format="json", squad="product-led")).status_code == 403
    assert post(omar, URL, payload(format="slack", squad="cs-onboarding")).status_code == 403
    assert post(omar, URL, payload(format="slack")).status_code == 403  # the whole company
    assert [s["id"] for s in omar.get(URL).json()["items"]] == [mine.json()["id"]]
    # Another's subscription does not exist for him, whatever he tries.
    assert omar.get(f"{URL}/{company['id']}").status_code == 404
    assert put(omar, f"{URL}/{company['id']}", payload(format="slack")).status_code == 404
    assert omar.delete(f"{URL}/{company['id']}").status_code == 404
    assert post(omar, f"{URL}/{company['id']}/secret", {}).status_code == 404
    # Nor can he turn his own into what he may not manage.
    moved = put(omar, f"{URL}/{mine.json()['id']}", payload(format="json", squad="product-led"))
    assert moved.status_code == 403
    assert Subscription.objects.get(pk=mine.json()["id"]).format == "slack"
    assert Subscription.objects.get(pk=company["id"]).name == "Release notes"


def test_people_who_manage_no_webhooks_are_refused(demo, example_hosts):
    ada = bearer("ada")  # a member of a squad, leading none
    assert ada.get(URL).status_code == 403
    assert post(ada, URL, payload(format="slack", squad="first-90-days")).status_code == 403
    assert not Subscription.objects.exists()


def test_a_bad_subscription_is_refused_with_reasons_and_nothing_is_added(demo, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    sam = bearer("sam")
    private = post(sam, URL, payload(url="http://127.0.0.1:8000/hook"))
    assert private.status_code == 400
    assert "private or local address" in private.json()["errors"]["url"][0]
    unknown = post(sam, URL, payload(events=["dependency.vanished"]))
    assert unknown.status_code == 400
    assert "Unknown event: dependency.vanished." in unknown.json()["errors"]["events"][0]
    assert post(sam, URL, payload(name="   ")).status_code == 422  # no visible name
    assert (
        "Choose Throughline JSON"
        in post(sam, URL, payload(format="pigeon")).json()["errors"]["format"][0]
    )
    assert post(sam, URL, payload(squad="no-such-squad")).status_code == 404
    assert not Subscription.objects.exists()


def test_the_delivery_log_lists_each_delivery_with_its_tries(demo, example_hosts):
    sam = bearer("sam")
    made = post(sam, URL, payload()).json()
    event = Event(
        name="dependency.declined",
        summary="Payments declined “Refund API” for Onboarding",
        path="/board/",
        squad_ids=(),
        data={"squads": [], "actor": None},
    )
    (delivery_id,) = services.deliveries_create([event])
    Attempt.objects.create(
        delivery_id=delivery_id,
        number=1,
        started_at=timezone.now(),
        duration_ms=12,
        status_code=500,
        error="",
    )

    log = sam.get(f"{URL}/{made['id']}/deliveries").json()

    assert log["count"] == 1
    (delivery,) = log["items"]
    assert delivery["event"] == "dependency.declined" and delivery["state"] == "pending"
    assert [(t["number"], t["status_code"]) for t in delivery["tries"]] == [(1, 500)]
    assert bearer("omar").get(f"{URL}/{made['id']}/deliveries").status_code == 404

    again = post(sam, f"{URL}/{made['id']}/deliveries/{delivery_id}/again", {})
    assert again.status_code == 201 and again.json()["tries"] == []
    assert [d["id"] for d in sam.get(f"{URL}/{made['id']}/deliveries").json()["items"]] == [
        again.json()["id"],
        delivery_id,
    ]
    other = post(sam, URL, payload(name="Other")).json()
    elsewhere = f"{URL}/{other['id']}/deliveries/{delivery_id}/again"
    assert post(sam, elsewhere, {}).status_code == 404  # a delivery of another subscription
