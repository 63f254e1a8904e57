"""Webhooks end to end: a change made through the web app reaches a real HTTP receiver on
this machine, sent by a real Celery worker process over Redis, signed, in the documented
schema; a receiver that fails is tried again after a pause, and the delivery log shows
every try; redelivering sends the same event again."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from types import SimpleNamespace

import jsonschema_rs
import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from tests import factories as f
from tests.conftest import running_celery_worker
from tests.webhook_receiver import start_receiver
from webhooks import services
from webhooks.models import Delivery, Subscription

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://throughline.example.com"
RETRY_SECONDS = 2

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery]


def _documented_verify():
    """verify_throughline, exactly as docs/webhooks.md shows it."""
    doc = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?def verify_throughline.*?)```", doc, re.S)[1]
    scope: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), scope)  # noqa: S102 - our own doc
    return scope["verify_throughline"]


def _schema():
    return jsonschema_rs.validator_for(
        json.loads((ROOT / "docs" / "webhook-event-1.schema.json").read_text(encoding="utf-8"))
    )


@pytest.fixture
def receiver():
    made = start_receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture
def worker(transactional_db, tmp_path, monkeypatch, settings):
    """A Celery worker that may send to this machine and retries after RETRY_SECONDS."""
    from throughline.celery import app

    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("WEBHOOK_RETRY_SECONDS", str(RETRY_SECONDS))
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_SECONDS = RETRY_SECONDS
    settings.THROUGHLINE_URL = SITE
    with running_celery_worker(broker_url=app.conf.broker_url, log_dir=tmp_path) as running:
        yield running


@pytest.fixture
def world(worker):
    """The conftest's small world (Alice's squad needs messaging from Dora's), made in one
    transaction as the squads' deferred constraint wants, and committed for the worker."""
    with transaction.atomic():
        alice = f.person("alice", "Alice Archer", function="Customer Success")
        dora = f.person("dora", "Dora Diaz", function="Product")
        olga = f.in_group(f.person("olga", "Olga Ortiz", function="Operations"), "Operations")
        cycle = f.cycle("fy2027")
        needing = f.squad("first-90-days", dri=alice, cycle=cycle, function="Customer Success")
        providing = f.squad("product-led", dri=dora, cycle=cycle, name="Product-led Growth")
        wizard = f.initiative(needing, "wizard", title="In-app onboarding wizard")
        dep = Dependency.objects.create(
            key="messaging",
            from_initiative=wizard,
            to_squad=providing,
            what="Feature <messaging> & copy for the wizard",
            due=timezone.localdate() + dt.timedelta(days=30),
            blocking=True,
            owner=dora,
        )
    return SimpleNamespace(dora=dora, olga=olga, needing=needing, providing=providing, dep=dep)


def _subscribe(by, url: str, format: str, events: list[str], squad=None) -> Subscription:
    return services.subscription_create(
        by=by, name=f"{format} receiver", url=url, format=format, events=events, squad=squad
    )


def test_a_dependency_declined_on_the_board_reaches_each_receiver_signed_and_in_shape(
    worker, receiver, world
):
    dep, dora, olga = world.dep, world.dora, world.olga
    needing, providing = world.needing, world.providing
    json_hook = _subscribe(olga, f"{receiver.url}/json", "json", ["dependency.declined"])
    _subscribe(olga, f"{receiver.url}/slack", "slack", ["dependency.declined"], squad=needing)
    _subscribe(olga, f"{receiver.url}/teams", "teams", ["dependency.declined"], squad=providing)
    # Wants other events only: gets nothing.
    other = _subscribe(olga, f"{receiver.url}/other", "json", ["dependency.accepted"])

    client = Client()
    client.force_login(dora)
    response = client.post(
        reverse("board:respond", kwargs={"key": dep.key}),
        {"action": "decline", "reason": "No capacity <b>this</b> quarter", "was": "requested"},
    )
    assert response.status_code == 302
    assert Dependency.objects.get(pk=dep.pk).status == "declined"

    got = {r.path: r for r in receiver.wait_for(3, why=worker.output)}
    assert not Delivery.objects.filter(subscription=other).exists()

    generic = got["/json"]
    verify, signature = _documented_verify(), generic.headers["X-Throughline-Signature"]
    assert verify(json_hook.secret, generic.body, signature)
    assert not verify("whsec_wrong", generic.body, signature)
    assert not verify(json_hook.secret, generic.body + b" ", signature)
    assert generic.headers["X-Throughline-Event"] == "dependency.declined"
    delivery = Delivery.objects.get(subscription=json_hook)
    assert generic.headers["X-Throughline-Delivery"] == delivery.uid

    payload = generic.json()
    errors = [e.message for e in _schema().iter_errors(payload)]
    assert not errors, errors
    assert payload["schema"] == "throughline.event/1"
    assert payload["event"] == "dependency.declined"
    assert payload["url"] == f"{SITE}/board/?dep=messaging"
    declined = payload["data"]["dependency"]
    assert declined["key"] == "messaging" and declined["status"] == "declined"
    assert declined["reason"] == "No capacity <b>this</b> quarter"
    assert declined["needed_by"]["key"] == "first-90-days"
    assert declined["provided_by"] == {
        "id": providing.pk,
        "key": "product-led",
        "name": "Product-led Growth",
    }
    assert payload["data"]["actor"] == {"name": "Dora Diaz"}
    assert {s["key"] for s in payload["data"]["squads"]} == {"first-90-days", "product-led"}
    assert "declined" in payload["summary"] and "No capacity" in payload["summary"]

    slack = got["/slack"].json()
    section, context, actions = slack["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    # People's words cannot become Slack markup: <, > and & arrive as entities.
    assert "Feature &lt;messaging&gt; &amp; copy" in section["text"]["text"]
    assert "<b>" not in section["text"]["text"] and "&lt;b&gt;this" in section["text"]["text"]
    assert context["type"] == "context"
    assert "dependency.declined" in context["elements"][0]["text"]
    assert "First 90 Days" in context["elements"][0]["text"]
    assert actions["elements"][0]["url"] == f"{SITE}/board/?dep=messaging"

    teams = got["/teams"].json()
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["inlines"][0]["text"].startswith("Product-led Growth declined")
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in Throughline",
            "url": f"{SITE}/board/?dep=messaging",
        }
    ]


def test_a_failing_receiver_is_tried_again_later_and_the_log_shows_each_try_and_redelivery(
    worker, receiver, world
):
    dep, dora, olga = world.dep, world.dora, world.olga
    hook = _subscribe(olga, f"{receiver.url}/hook", "json", ["dependency.accepted"])
    receiver.statuses = [500]
    client = Client()
    client.force_login(dora)
    client.post(
        reverse("board:respond", kwargs={"key": dep.key}),
        {"action": "accept", "was": "requested"},
    )

    first, second = receiver.wait_for(2, why=worker.output)
    assert first.body == second.body
    assert first.headers["X-Throughline-Delivery"] == second.headers["X-Throughline-Delivery"]
    # The second try waited for the back-off.
    assert second.at - first.at >= RETRY_SECONDS - 0.1
    delivery = Delivery.objects.get(subscription=hook)
    deadline = time.monotonic() + 30
    while Delivery.objects.get(pk=delivery.pk).state != "succeeded":
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.1)

    olga_client = Client()
    olga_client.force_login(olga)
    log = olga_client.get(reverse("webhooks:log", kwargs={"pk": hook.pk})).content.decode()
    statuses = re.findall(r'<td class="attempt__status">(\d+)', log)
    assert statuses == ["500", "200"]
    assert "Delivered" in log
    assert "&quot;status&quot;: 500" in log  # the receiver's answer, escaped

    response = olga_client.post(
        reverse("webhooks:redeliver", kwargs={"pk": hook.pk, "delivery": delivery.pk})
    )
    assert response.status_code == 302
    third = receiver.wait_for(3, why=worker.output)[2]
    assert third.body == first.body
    assert third.headers["X-Throughline-Delivery"] != first.headers["X-Throughline-Delivery"]
    assert _documented_verify()(hook.secret, third.body, third.headers["X-Throughline-Signature"])
    log = olga_client.get(reverse("webhooks:log", kwargs={"pk": hook.pk})).content.decode()
    assert "sent again" in log
