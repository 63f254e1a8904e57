"""Emails that reach people: the daily digest, immediate alerts, and their settings."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core.models import Cycle
from dependencies import services as dependency_services
from dependencies.models import Dependency
from planning import digest as digest_module
from planning import services
from planning.models import Finding, Notification, NotificationPreference
from planning.tasks import send_daily_digests

pytestmark = pytest.mark.django_db
User = get_user_model()
# The demo's dependencies fall due in the first quarter of 2027.
TODAY = dt.date(2027, 2, 10)


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []


@pytest.fixture
def demo(db):
    call_command("load_demo", "--allow-production", stdout=io.StringIO())
    for user in User.objects.all():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    cycle = Cycle.objects.get(key="fy2027")
    services.review_run(cycle=cycle, today=TODAY, trigger="command")
    mail.outbox = []
    return cycle


def sent_to(username: str) -> list:
    return [m for m in mail.outbox if m.to == [f"{username}@example.com"]]


def test_a_dri_gets_one_digest_with_findings_and_dependencies_linked(demo):
    send_daily_digests(TODAY.isoformat())

    (message,) = sent_to("priya")  # DRI of the First 90 Days squad
    text = message.body
    html = message.alternatives[0].content
    assert message.alternatives[0].mimetype == "text/html"
    assert "NEW FINDINGS FOR SQUADS YOU LEAD" in text
    # Every finding about her squad is linked (the squad's initiatives are in no overlap).
    mine = Finding.objects.concerning_squad("first-90-days")
    assert mine.exists()
    for finding in mine:
        link = f"{settings.THROUGHLINE_URL}/findings/{finding.pk}/"
        assert link in text and f'href="{link}"' in html
    # Its enrollment campaign needs messaging from Product-led Growth, due 15 Feb.
    messaging = Dependency.objects.get(key="messaging-mid-q1")
    assert "DUE WITHIN 7 DAYS" in text and messaging.what in text
    assert f"{settings.THROUGHLINE_URL}/board/?dep=messaging-mid-q1" in text
    assert f"{settings.THROUGHLINE_URL}/account/" in text


def test_the_provider_hears_of_what_is_due_and_the_needer_of_what_was_declined(demo):
    declined = Dependency.objects.get(key="cs-feedback")  # Product-led needs it from CS
    declined.status = Dependency.Status.DECLINED
    declined.save()

    send_daily_digests(TODAY.isoformat())

    (omar,) = sent_to("omar")  # DRI of Product-led Growth, the needer
    assert "DECLINED OR AT RISK" in omar.body and declined.what in omar.body
    # Lee leads CS Onboarding, which declined it: nothing of theirs is in trouble.
    assert all("DECLINED OR AT RISK" not in m.body for m in sent_to("lee"))


def test_people_with_nothing_to_look_at_get_no_email(demo):
    send_daily_digests(TODAY.isoformat())
    assert not sent_to("sam")  # a member, neither DRI nor owner of anything
    assert not sent_to("admin")


def test_a_second_run_the_same_day_sends_nothing_again(demo):
    first = send_daily_digests(TODAY.isoformat())
    assert first >= 3
    assert send_daily_digests(TODAY.isoformat()) == 0
    assert send_daily_digests((TODAY + dt.timedelta(days=1)).isoformat()) >= 1


def test_whoever_turned_the_digest_off_gets_none(demo):
    client = Client()
    client.force_login(User.objects.get(username="priya"))
    response = client.post(
        "/account/", {"email": "priya@example.com", "immediate_high": "on"}, follow=True
    )
    assert "Saved your email settings." in response.content.decode()
    assert not NotificationPreference.objects.get(user__username="priya").daily_digest

    send_daily_digests(TODAY.isoformat())
    assert not sent_to("priya")
    assert sent_to("omar")


def test_the_account_page_refuses_a_bad_address_and_keeps_the_old_one(demo):
    client = Client()
    client.force_login(User.objects.get(username="priya"))
    response = client.post("/account/", {"email": "not an address", "daily_digest": "on"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert 'value="not an address"' in response.content.decode()
    assert User.objects.get(username="priya").email == "priya@example.com"
    assert not NotificationPreference.objects.exists()


def test_immediate_alerts_follow_the_setting(demo):
    finding = Finding.objects.concerning_squad("first-90-days").first()
    assert finding is not None
    finding.severity = Finding.Severity.HIGH

    services.notifications_for_findings(cycle=demo, findings=[finding])
    services.emails_send(services._emails(demo, {User.objects.get(username="priya").pk: [finding]}))
    (alert,) = sent_to("priya")
    assert f"{settings.THROUGHLINE_URL}/findings/{finding.pk}/" in alert.body

    mail.outbox = []
    NotificationPreference.objects.create(
        user=User.objects.get(username="priya"), immediate_high=False
    )
    services.emails_send(services._emails(demo, {User.objects.get(username="priya").pk: [finding]}))
    assert not sent_to("priya")


def _decline(key: str, by: str, reason: str) -> Dependency:
    return dependency_services.dependency_respond(
        dependency=Dependency.objects.get(key=key),
        by=User.objects.get(username=by),
        action="decline",
        reason=reason,
    )


def test_the_needing_squad_hears_of_a_decline_in_its_digest_members_included(demo):
    # Omar's squad provides the messaging that First 90 Days (Priya, with Sam and others)
    # needs; he declines it.
    _decline("messaging-mid-q1", "omar", "No writer free before March")

    send_daily_digests(TODAY.isoformat())

    (sam,) = sent_to("sam")  # a member: before, nothing came to him
    assert "DECLINED OR PUT AT RISK SINCE YESTERDAY" in sam.body
    assert "Omar Haddad declined" in sam.body and "No writer free before March" in sam.body
    assert f"{settings.THROUGHLINE_URL}/board/?dep=messaging-mid-q1" in sam.body
    assert "declined or put at risk" in sam.subject
    assert "No writer free before March" in sam.alternatives[0].content
    (priya,) = sent_to("priya")
    assert "DECLINED OR PUT AT RISK SINCE YESTERDAY" in priya.body
    # Told as news, it is not listed again among those declined or at risk.
    assert "DECLINED OR AT RISK\n" not in priya.body
    # Whoever declined it hears nothing of their own answer.
    assert all("declined" not in m.body for m in sent_to("omar"))


def test_news_older_than_a_day_is_not_in_the_digest(demo):
    _decline("messaging-mid-q1", "omar", "No writer free before March")
    Notification.objects.filter(kind="dependency").update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )
    send_daily_digests(TODAY.isoformat())
    assert not sent_to("sam")


def test_the_list_of_those_declined_or_at_risk_says_why(demo):
    dep = Dependency.objects.get(key="assessment-by-q1")  # accepted, Marco owns it
    dependency_services.dependency_respond(
        dependency=dep,
        by=User.objects.get(username="marco"),
        action="at_risk",
        reason="Two <engineers> out",
    )
    Notification.objects.filter(kind="dependency").update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )
    send_daily_digests(TODAY.isoformat())
    (priya,) = sent_to("priya")
    assert "at risk (“Two <engineers> out”)" in priya.body
    assert "at risk (“Two &lt;engineers&gt; out”)" in priya.alternatives[0].content


def test_digests_take_the_same_queries_however_many_findings(demo, django_assert_max_num_queries):
    now = timezone.now()
    with django_assert_max_num_queries(7):
        small = digest_module.digests(TODAY, now)
    for n in range(40):
        Finding.objects.create(
            cycle=demo,
            kind="ownership_gap",
            rule="unowned_stage",
            severity="low",
            subjects=["squad:first-90-days", f"stage:x/{n}"],
            identity=f"test-{n}",
            message=f"Finding {n}",
            first_seen=now,
            last_seen=now,
        )
    _decline("messaging-mid-q1", "omar", "No writer free before March")
    _decline("cs-feedback", "lee", "Calls are paused")
    with django_assert_max_num_queries(7):
        large = digest_module.digests(TODAY, now + dt.timedelta(seconds=1))
    assert sum(len(d.new_findings) for d in large) > sum(len(d.new_findings) for d in small)
    assert sum(len(d.news) for d in large) >= 6
