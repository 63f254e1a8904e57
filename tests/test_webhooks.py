"""Webhooks without a worker: the events each service publishes, which subscriptions they
reach, the Slack and Teams bodies, the settings pages and who sees what, refused
addresses, the secret, and a web request that stays quick when the broker is away."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.events import Event, event_published, events_published
from dependencies import services as dependency_services
from planning import services as planning_services
from planning.season import services as season_services
from squads import services as squad_services
from tests.webhook_receiver import start_receiver
from webhooks import payloads, services, signing
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard(django_capture_on_commit_callbacks):
    """Every event listeners hear, one by one or in a batch: (how, event)."""
    got: list[tuple[str, Event]] = []

    def one(sender, event, **kwargs):
        got.append(("one", event))

    def many(sender, events, **kwargs):
        got.extend(("batch", e) for e in events)

    event_published.connect(one, dispatch_uid="test.one")
    events_published.connect(many, dispatch_uid="test.many")
    yield got
    event_published.disconnect(dispatch_uid="test.one")
    events_published.disconnect(dispatch_uid="test.many")


def _names(heard) -> list[str]:
    return [event.name for _how, event in heard]


def _subscription(squad=None, format="json", events=("dependency.declined",), **values):
    return Subscription.objects.create(
        name=values.pop("name", f"{format} hook"),
        url=values.pop("url", "https://hooks.example.com/x"),
        format=format,
        events=list(events),
        squad=squad,
        **values,
    )


# --- the events -------------------------------------------------------------------------


def test_a_new_dependency_and_each_answer_are_told_once_committed(
    heard, django_capture_on_commit_callbacks, needing, providing, alice, dora
):
    with django_capture_on_commit_callbacks(execute=True):
        dep = dependency_services.dependency_create(
            by=alice,
            from_squad=needing,
            to_squad=providing,
            what="Assessment tool",
            due=dt.date(2027, 3, 31),
            blocking=True,
        )
    with django_capture_on_commit_callbacks(execute=True):
        dependency_services.dependency_respond(dependency=dep, by=dora, action="accept")
    with django_capture_on_commit_callbacks(execute=True):
        dependency_services.dependency_respond(
            dependency=dep, by=dora, action="at_risk", reason="Hiring is late"
        )
    assert _names(heard) == [
        "dependency.requested",
        "dependency.accepted",
        "dependency.at_risk",
    ]
    requested, at_risk = heard[0][1], heard[2][1]
    assert (
        requested.summary
        == "First 90 Days asks Product-led Growth for “Assessment tool” by 31 Mar 2027"
    )
    assert requested.path == f"/board/?dep={dep.key}"
    assert set(requested.squad_ids) == {needing.pk, providing.pk}
    assert requested.data["actor"] == {"name": "Alice Archer"}
    assert at_risk.data["dependency"]["status"] == "at_risk"
    assert at_risk.data["dependency"]["reason"] == "Hiring is late"
    assert at_risk.summary.endswith("at risk: Hiring is late")


def test_nothing_is_told_about_a_change_that_was_refused(
    heard, django_capture_on_commit_callbacks, dep, dora
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationError, match="Say why"):
            dependency_services.dependency_respond(dependency=dep, by=dora, action="decline")
        dependency_services.dependency_respond(dependency=dep, by=dora, action="accept")
    assert _names(heard) == ["dependency.accepted"]


def test_an_import_of_many_dependencies_is_told_as_one_batch(
    heard, django_capture_on_commit_callbacks, needing, providing, alice
):
    rows = [
        {
            "key": f"need-{n}",
            "from_squad": needing,
            "to_squad": providing,
            "what": f"Need {n}",
            "due": dt.date(2027, 3, 1),
        }
        for n in range(30)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        dependency_services.dependencies_create(by=alice, rows=rows)
    assert [how for how, _e in heard] == ["batch"] * 30
    assert {e.data["dependency"]["key"] for _h, e in heard} == {f"need-{n}" for n in range(30)}


def test_the_review_tells_of_findings_it_opens_and_resolves(
    heard, django_capture_on_commit_callbacks, dep, dora, cycle
):
    late = dep.due + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        planning_services.review_run(cycle=cycle, today=late, trigger="test")
    opened = [e for _h, e in heard if e.data.get("finding", {}).get("rule") == "overdue"]
    assert [e.name for e in opened] == ["finding.opened"]
    assert {s["key"] for s in opened[0].data["squads"]} >= {"first-90-days", "product-led"}
    assert opened[0].path == f"/findings/{opened[0].data['finding']['id']}/"

    heard.clear()
    dependency_services.dependency_respond(dependency=dep, by=dora, action="accept")
    dependency_services.dependency_respond(dependency=dep, by=dora, action="done")
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        planning_services.review_run(cycle=cycle, today=late, trigger="test")
    resolved = [e for _h, e in heard if e.name == "finding.resolved"]
    assert [e.data["finding"]["id"] for e in resolved] == [opened[0].data["finding"]["id"]]
    assert resolved[0].summary.startswith("Resolved: ")


def test_approving_a_plan_and_moving_a_cycle_are_told(
    heard, django_capture_on_commit_callbacks, needing, alice, leo, cycle
):
    with django_capture_on_commit_callbacks(execute=True):
        squad_services.plan_set_approval(squad=needing, by=alice, approved=True)
    with django_capture_on_commit_callbacks(execute=True):
        squad_services.plan_set_approval(squad=needing, by=alice, approved=False)
    with django_capture_on_commit_callbacks(execute=True):
        season_services.cycle_move(cycle=cycle, to="reconciling", expected="draft", by=leo)
    assert _names(heard) == ["plan.approved", "cycle.state_changed"]
    approved, moved = heard[0][1], heard[1][1]
    assert approved.summary == "Alice Archer approved the plan of First 90 Days"
    assert approved.path == "/squads/first-90-days/plan/"
    assert moved.data["cycle"]["from_state"] == "draft"
    assert moved.data["cycle"]["to_state"] == "reconciling"
    assert moved.squad_ids == (needing.pk,)


# --- which subscriptions, and what they get ---------------------------------------------


def _event(**values) -> Event:
    return Event(
        name=values.pop("name", "dependency.declined"),
        summary=values.pop("summary", "Payments declined “Refund API” for Onboarding"),
        path="/board/?dep=refund-api",
        squad_ids=values.pop("squad_ids", ()),
        data={"squads": values.pop("squads", []), "actor": None},
    )


def test_an_event_reaches_the_subscriptions_that_want_it_and_its_squad(needing, providing):
    everyone = _subscription()
    mine = _subscription(squad=needing, format="slack")
    theirs = _subscription(squad=providing, format="teams")
    other_event = _subscription(events=["plan.approved"])
    paused = _subscription(active=False)

    services.deliveries_create([_event(squad_ids=(needing.pk,))])

    reached = set(Delivery.objects.values_list("subscription_id", flat=True))
    assert reached == {everyone.pk, mine.pk}
    assert theirs.pk not in reached and other_event.pk not in reached and paused.pk not in reached
    slack = json.loads(Delivery.objects.get(subscription=mine).body)
    assert slack["blocks"][0]["type"] == "section"


def test_chat_messages_escape_what_people_wrote(settings):
    settings.THROUGHLINE_URL = "https://throughline.example.com/"
    event = _event(
        summary="Ops declined “<https://evil.example|Click here> & <!channel>”",
        squads=[{"id": 1, "key": "x", "name": "R&D <core>"}],
    )
    slack = payloads.slack(event)
    text = slack["blocks"][0]["text"]["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;https://evil.example|Click here&gt; &amp; &lt;!channel&gt;" in text
    assert slack["text"] == text
    assert "R&amp;D &lt;core&gt;" in slack["blocks"][1]["elements"][0]["text"]
    button = slack["blocks"][2]["elements"][0]
    assert button["type"] == "button"
    assert button["url"] == "https://throughline.example.com/board/?dep=refund-api"

    teams = payloads.teams(event)
    card = teams["attachments"][0]["content"]
    # People's words only in TextRuns, which Teams never reads as Markdown.
    runs = [inline for block in card["body"] for inline in block["inlines"]]
    assert {block["type"] for block in card["body"]} == {"RichTextBlock"}
    assert {run["type"] for run in runs} == {"TextRun"}
    assert runs[0]["text"] == event.summary
    assert card["actions"][0]["type"] == "Action.OpenUrl"
    assert card["actions"][0]["url"] == "https://throughline.example.com/board/?dep=refund-api"


def test_the_signature_is_checked_against_the_exact_body():
    header = signing.sign("whsec_s", b'{"a":1}', 1_800_000_000)
    assert signing.verify("whsec_s", b'{"a":1}', header, now=1_800_000_100)
    assert not signing.verify("whsec_s", b'{"a":2}', header, now=1_800_000_100)
    assert not signing.verify("whsec_other", b'{"a":1}', header, now=1_800_000_100)
    # A recorded delivery replayed later is refused.
    assert not signing.verify("whsec_s", b'{"a":1}', header, now=1_800_001_000)


# --- sending ----------------------------------------------------------------------------


@pytest.fixture
def receiver():
    made = start_receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


def test_a_receiver_on_a_private_address_is_not_sent_to_unless_allowed(receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    hook = _subscription(url=f"{receiver.url}/hook")
    (delivery_id,) = services.deliveries_create([_event()])

    attempt = services.delivery_attempt(delivery_id=delivery_id)

    assert "is a private or local address" in attempt.error
    assert receiver.requests == []
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at is not None
    assert hook.deliveries.count() == 1


def test_a_host_that_turns_private_after_its_check_is_not_sent_to(
    receiver, settings, rebinding_host
):
    """DNS rebinding: the name looks public when the address is checked and points at this
    machine when the connection is made. The connection is refused; nothing reaches it."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    port = receiver.url.rsplit(":", 1)[1]
    _subscription(url=f"http://{rebinding_host}:{port}/hook")
    (delivery_id,) = services.deliveries_create([_event()])

    attempt = services.delivery_attempt(delivery_id=delivery_id)

    assert attempt.error == f"The host {rebinding_host} is a private or local address."
    assert attempt.status_code is None
    assert receiver.requests == []
    assert Delivery.objects.get(pk=delivery_id).state == "pending"  # tried again later


def test_a_receiver_that_trickles_its_answer_is_cut_off_when_the_try_is_over(
    settings, monkeypatch, trickling_server
):
    """Each header line comes before any single wait times out, and the whole head would
    take 15 seconds: the try ends at its limit (2 seconds here) and is a failed try."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(services, "TRY_SECONDS", 2)
    _subscription(url=f"{trickling_server.url}/hook")
    (delivery_id,) = services.deliveries_create([_event()])

    attempt = services.delivery_attempt(delivery_id=delivery_id)

    assert attempt.error == "No whole answer within 2 seconds."
    assert attempt.status_code is None and not attempt.succeeded
    assert trickling_server.outcome() == "cut off"
    assert Delivery.objects.get(pk=delivery_id).state == "pending"  # tried again later


def test_a_try_keeps_the_start_of_the_answer_and_the_last_try_gives_up(receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_ATTEMPTS = 1
    _subscription(url=f"{receiver.url}/hook")
    receiver.statuses = [503]
    (delivery_id,) = services.deliveries_create([_event()])

    attempt = services.delivery_attempt(delivery_id=delivery_id)

    assert attempt.status_code == 503
    assert '"status": 503' in attempt.response_excerpt
    assert Delivery.objects.get(pk=delivery_id).state == "failed"
    # A second call has nothing left to try.
    assert services.delivery_attempt(delivery_id=delivery_id) is None
    assert len(receiver.requests) == 1


def test_a_slow_receiver_is_given_up_on_and_a_long_answer_is_kept_short(
    receiver, settings, monkeypatch
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr(services, "READ_SECONDS", 1)
    _subscription(url=f"{receiver.url}/hook")
    first, second = services.deliveries_create([_event(), _event()])

    receiver.delay = 3
    slow = services.delivery_attempt(delivery_id=first)
    assert slow.status_code is None
    assert slow.error == "No answer within 6 seconds."
    assert Delivery.objects.get(pk=first).state == "pending"

    receiver.delay, receiver.answer = 0, b"x" * 1_000_000
    long = services.delivery_attempt(delivery_id=second)
    assert long.status_code == 200
    assert long.response_excerpt == "x" * services.EXCERPT_CHARS
    assert Delivery.objects.get(pk=second).state == "succeeded"


def test_the_log_and_the_list_read_a_fixed_number_of_queries(
    client, olga, django_assert_max_num_queries
):
    client.force_login(olga)
    for size in (2, 12):
        hooks = [_subscription(name=f"hook {n}") for n in range(size)]
        services.deliveries_create([_event() for _ in range(size)])
        for delivery in Delivery.objects.filter(subscription=hooks[0]):
            delivery.tries.create(number=1, started_at=delivery.created_at, duration_ms=1)
        with django_assert_max_num_queries(8):
            assert client.get(reverse("webhooks:list")).status_code == 200
        with django_assert_max_num_queries(8):
            log = client.get(reverse("webhooks:log", kwargs={"pk": hooks[0].pk}))
        assert log.content.decode().count("Redeliver") >= size


def test_a_decline_is_saved_and_answered_quickly_when_the_broker_is_away(
    client, dep, dora, monkeypatch, django_capture_on_commit_callbacks
):
    from webhooks import tasks

    def broker_gone(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver_many, "delay", broker_gone)
    hook = _subscription()
    client.force_login(dora)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("board:respond", kwargs={"key": dep.key}),
            {"action": "decline", "reason": "No capacity", "was": "requested"},
        )
    assert response.status_code == 302
    dep.refresh_from_db()
    assert dep.status == "declined"
    delivery = Delivery.objects.get(subscription=hook)
    assert delivery.state == "pending"
    # The sweep finds it once it is late.
    later = delivery.next_attempt_at + dt.timedelta(minutes=5)
    assert services.overdue_deliveries(now=later) == [delivery.pk]


# --- the settings pages -----------------------------------------------------------------


def _form(**values) -> dict:
    return {
        "name": "#onboarding",
        "url": "https://hooks.example.com/x",
        "format": "slack",
        "events": ["dependency.declined", "plan.approved"],
        "squad": "",
        **values,
    }


def test_a_dri_sees_and_changes_only_their_own_squads_chat_channels(
    client, settings, alice, needing, providing
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the example host is not looked up
    mine = _subscription(squad=needing, format="slack", name="#first-90-days")
    theirs = _subscription(squad=providing, format="teams", name="Product-led channel")
    company = _subscription(format="json", name="Company data lake", squad=needing)
    client.force_login(alice)

    page = client.get(reverse("webhooks:list")).content.decode()
    assert "#first-90-days" in page
    assert "Product-led channel" not in page and "Company data lake" not in page
    for hidden in (theirs, company):
        assert client.get(reverse("webhooks:edit", kwargs={"pk": hidden.pk})).status_code == 404
        response = client.post(reverse("webhooks:delete", kwargs={"pk": hidden.pk}))
        assert response.status_code == 404
        assert client.get(reverse("webhooks:log", kwargs={"pk": hidden.pk})).status_code == 404
    assert Subscription.objects.filter(pk__in=[theirs.pk, company.pk]).count() == 2
    assert client.get(reverse("webhooks:edit", kwargs={"pk": mine.pk})).status_code == 200

    # Throughline JSON, or another squad's channel, is not theirs to add.
    response = client.post(reverse("webhooks:create"), _form(format="json", squad=needing.pk))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = client.post(reverse("webhooks:create"), _form(squad=providing.pk))
    assert "Select a valid choice" in response.content.decode()
    assert Subscription.objects.count() == 3

    response = client.post(reverse("webhooks:create"), _form(squad=needing.pk))
    assert response.status_code == 302
    made = Subscription.objects.get(name="#onboarding")
    assert made.squad == needing and made.format == "slack" and made.created_by == alice


def test_someone_in_no_role_cannot_open_the_webhooks_pages(client, bob):
    client.force_login(bob)
    assert client.get(reverse("webhooks:list")).status_code == 403
    assert client.post(reverse("webhooks:create"), _form(format="json")).status_code == 403
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://127.0.0.1:8000/hook",
            "The host 127.0.0.1 is a private or local address; the server only sends to "
            "public addresses.",
        ),
        ("http://10.1.2.3/hook", "is a private or local address"),
        ("ftp://hooks.example.com/x", "The address must start with http:// or https://."),
        ("https://user:secret@hooks.example.com/x", "Leave the user name and password out"),
        ("not an address", "The address must start with http:// or https://."),
    ],
)
def test_a_bad_address_is_refused_with_a_clear_message(client, settings, olga, url, message):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    client.force_login(olga)
    response = client.post(reverse("webhooks:create"), _form(format="json", url=url))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Subscription.objects.exists()


def test_operations_add_a_webhook_see_its_secret_and_rotate_it(client, settings, olga):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    client.force_login(olga)
    response = client.post(reverse("webhooks:create"), _form(format="json", name="Data lake"))
    hook = Subscription.objects.get(name="Data lake")
    assert response["Location"] == reverse("webhooks:edit", kwargs={"pk": hook.pk})
    page = client.get(response["Location"]).content.decode()
    assert hook.secret in page and hook.secret.startswith("whsec_")

    old = hook.secret
    client.post(reverse("webhooks:rotate", kwargs={"pk": hook.pk}))
    hook.refresh_from_db()
    assert hook.secret != old
    page = client.get(reverse("webhooks:edit", kwargs={"pk": hook.pk})).content.decode()
    assert hook.secret in page and old not in page


def test_changes_need_the_csrf_token(olga):
    hook = _subscription()
    client = Client(enforce_csrf_checks=True)
    client.force_login(olga)
    old = hook.secret
    assert client.post(reverse("webhooks:rotate", kwargs={"pk": hook.pk})).status_code == 403
    assert client.post(reverse("webhooks:delete", kwargs={"pk": hook.pk})).status_code == 403
    hook.refresh_from_db()
    assert hook.secret == old


def test_names_addresses_and_answers_are_escaped_on_the_pages(client, olga):
    hook = _subscription(name="<script>alert(1)</script>", url="https://x.example/<b>")
    delivery = Delivery.objects.create(
        subscription=hook,
        uid="a" * 32,
        event_id="b" * 32,
        event="plan.approved",
        summary="<img src=x onerror=alert(2)>",
        body="{}",
        format="json",
    )
    delivery.tries.create(
        number=1,
        started_at=delivery.created_at,
        duration_ms=3,
        status_code=500,
        response_excerpt="<svg onload=alert(3)>",
    )
    client.force_login(olga)
    pages = [
        client.get(reverse("webhooks:list")).content.decode(),
        client.get(reverse("webhooks:log", kwargs={"pk": hook.pk})).content.decode(),
    ]
    for page in pages:
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in pages[1] and "<svg onload" not in pages[1]
    assert "&lt;svg onload=alert(3)&gt;" in pages[1]


def test_editing_keeps_the_secret_and_deleting_takes_the_log(client, settings, olga, needing):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    hook = _subscription()
    services.deliveries_create([_event()])
    secret = hook.secret
    client.force_login(olga)
    response = client.post(
        reverse("webhooks:edit", kwargs={"pk": hook.pk}),
        _form(format="json", squad=needing.pk, name="Renamed", active=""),
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.format, hook.squad, hook.active) == ("Renamed", "json", needing, False)
    assert hook.secret == secret
    # Another format is another receiver: the old one's secret does not follow it.
    client.post(
        reverse("webhooks:edit", kwargs={"pk": hook.pk}),
        _form(format="teams", squad=needing.pk, name="Renamed", active=""),
    )
    hook.refresh_from_db()
    assert hook.format == "teams" and hook.secret != secret

    client.post(reverse("webhooks:delete", kwargs={"pk": hook.pk}))
    assert not Subscription.objects.exists() and not Delivery.objects.exists()


# --- what may not be sent --------------------------------------------------------------


def test_a_new_secret_given_while_the_subscription_is_saved_is_kept(settings):
    """Rotating the secret and saving the form at the same moment: the save, made from what
    was read before the rotation, never writes the old secret back."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    hook = _subscription()
    read_before = Subscription.objects.get(pk=hook.pk)
    rotated = services.subscription_rotate_secret(subscription=Subscription.objects.get(pk=hook.pk))

    services.subscription_update(
        subscription=read_before,
        name="Renamed",
        url=hook.url,
        format=hook.format,
        events=hook.events,
    )

    hook.refresh_from_db()
    assert hook.name == "Renamed" and hook.secret == rotated.secret


def test_a_paused_subscription_sends_nothing_not_even_again(receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    hook = _subscription(url=f"{receiver.url}/hook")
    (waiting,) = services.deliveries_create([_event()])
    Subscription.objects.filter(pk=hook.pk).update(active=False)

    attempt = services.delivery_attempt(delivery_id=waiting)

    assert attempt.error == services.PAUSED
    assert receiver.requests == []
    assert Delivery.objects.get(pk=waiting).state == "failed"  # not tried again
    with pytest.raises(ValidationError, match="paused"):
        services.delivery_redeliver(delivery=Delivery.objects.get(pk=waiting))
    Subscription.objects.filter(pk=hook.pk).update(active=True)
    again = services.delivery_redeliver(delivery=Delivery.objects.get(pk=waiting))
    assert services.delivery_attempt(delivery_id=again.pk).succeeded
    assert len(receiver.requests) == 1


def test_a_body_made_in_another_format_is_never_sent(receiver, settings, needing):
    """A Throughline JSON subscription becomes a squad's Slack channel: what waited in JSON
    is not sent to the channel, nor can it be sent again there (the squad's DRI, who now
    manages the channel, could otherwise read signed JSON meant for the old receiver)."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    hook = _subscription(url=f"{receiver.url}/hook")
    (waiting,) = services.deliveries_create([_event()])
    services.subscription_update(
        subscription=hook,
        name=hook.name,
        url=hook.url,
        format="slack",
        events=hook.events,
        squad=needing,
    )

    attempt = services.delivery_attempt(delivery_id=waiting)

    assert attempt.error == (
        "This delivery was made as Throughline JSON (signed); the subscription now sends "
        "Slack message, so it is not sent."
    )
    assert receiver.requests == []
    with pytest.raises(ValidationError, match="made as Throughline JSON"):
        services.delivery_redeliver(delivery=Delivery.objects.get(pk=waiting))


def test_a_squad_has_at_most_so_many_subscriptions(settings, needing):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    for n in range(services.MAX_PER_SQUAD):
        services.subscription_create(
            by=None, name=f"#{n}", url="https://hooks.example.com/x", format="slack",
            events=["dependency.declined"], squad=needing,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="the most a squad may have"):
        services.subscription_create(
            by=None, name="#one-more", url="https://hooks.example.com/x", format="slack",
            events=["dependency.declined"], squad=needing,
        )  # fmt: skip
    assert Subscription.objects.filter(squad=needing).count() == services.MAX_PER_SQUAD


def test_slack_leaves_addresses_and_channels_in_peoples_words_as_written():
    block = json.loads(payloads.body(_event(summary="See https://evil.example #general"), "slack"))
    texts = [block["blocks"][0]["text"], *block["blocks"][1]["elements"]]
    assert all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in texts)
