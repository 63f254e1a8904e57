"""The review's inbox: findings, their triage, running the review now, and notifications."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from journeys.models import Stage
from planning import findings_services, services, tasks
from planning import views as planning_views
from planning.models import Finding, Notification, ReviewRun
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
FINDINGS = reverse("findings")


@pytest.fixture
def squad(needing):
    """The shared needing squad: Alice's, with Bob."""
    return needing


@pytest.fixture
def other(cycle, carol):
    """A second squad, led by Carol."""
    return f.squad("product-led", dri=carol, cycle=cycle, name="Product-led Growth")


def finding(cycle, *, rule="overdue", kind="blocker", severity="high", subjects=(), **extra):
    now = timezone.now()
    return Finding.objects.create(
        cycle=cycle,
        kind=kind,
        rule=rule,
        severity=severity,
        subjects=list(subjects),
        identity=hashlib.sha256(f"{rule}{subjects}{Finding.objects.count()}".encode()).hexdigest(),
        message=extra.pop("message", f"A {rule} finding"),
        first_seen=now,
        last_seen=now,
        **extra,
    )


@pytest.fixture
def blocker(cycle, squad, other):
    Dependency.objects.create(
        key="messaging",
        from_squad=squad,
        to_squad=other,
        what="Feature messaging",
        due=timezone.localdate() - dt.timedelta(days=3),
    )
    return finding(
        cycle,
        subjects=["dependency:messaging", "squad:first-90-days", "squad:product-led"],
        message="First 90 Days needed feature messaging from Product-led Growth",
    )


@pytest.fixture
def gap(cycle):
    stage = f.stage("lifecycle", "renewal", name="Renewal")
    return finding(
        cycle,
        rule="unowned_stage",
        kind="ownership_gap",
        severity="medium",
        subjects=[f"stage:{stage.ref}"],
        message="No squad covers the Renewal stage",
    )


def ids(response) -> list[int]:
    return [int(x) for x in re.findall(r'<article id="finding-(\d+)"', response.content.decode())]


def is_partial(response) -> bool:
    content = response.content.decode()
    return "<html" not in content and 'class="topbar"' not in content


def act(finding: Finding, action: str) -> str:
    return reverse("finding_act", args=[finding.pk, action])


# ---------------------------------------------------------------------------------------
# The inbox
# ---------------------------------------------------------------------------------------


def test_the_inbox_shows_findings_with_links_to_their_subjects(client, blocker, gap, carol):
    client.force_login(carol)
    response = client.get(FINDINGS)
    assert response.status_code == 200
    content = response.content.decode()
    assert "First 90 Days needed feature messaging from Product-led Growth" in content
    assert "No squad covers the Renewal stage" in content
    assert "Overdue dependency" in content and "Journey stage nobody owns" in content
    # Each subject links to where it can be fixed.
    assert reverse("squads:plan", args=["first-90-days"]) in content
    assert reverse("board:board") + "?dep=messaging" in content
    stage = Stage.objects.get(journey__key="lifecycle", key="renewal")
    assert reverse("journeys:detail", args=["lifecycle"]) + f"#stage-{stage.pk}" in content
    # High first.
    assert ids(response) == [blocker.pk, gap.pk]
    assert "1 high" in content and "1 medium" in content


def test_filters_by_kind_severity_state_and_squad(client, cycle, blocker, gap, carol):
    done = finding(cycle, rule="declined", state="resolved", subjects=["squad:product-led"])
    client.force_login(carol)
    # By default, what needs attention: resolved and dismissed ones are left out.
    assert ids(client.get(FINDINGS)) == [blocker.pk, gap.pk]
    assert ids(client.get(FINDINGS + "?kind=ownership_gap")) == [gap.pk]
    assert ids(client.get(FINDINGS + "?severity=high")) == [blocker.pk]
    assert ids(client.get(FINDINGS + "?state=resolved")) == [done.pk]
    assert set(ids(client.get(FINDINGS + "?state=all"))) == {blocker.pk, gap.pk, done.pk}
    assert ids(client.get(FINDINGS + "?squad=first-90-days")) == [blocker.pk]
    assert set(ids(client.get(FINDINGS + "?squad=product-led&state=all"))) == {
        blocker.pk,
        done.pk,
    }
    content = client.get(FINDINGS + "?severity=high").content.decode()
    assert '<option value="high" selected>' in content


def test_only_the_current_cycles_findings(client, blocker, carol):
    later = f.cycle("fy2028")
    stray = finding(later, message="Another year")
    client.force_login(carol)
    assert ids(client.get(FINDINGS)) == [blocker.pk]
    client.post(reverse("cycle_select"), {"cycle": "fy2028", "next": FINDINGS})
    assert ids(client.get(FINDINGS)) == [stray.pk]


def test_an_htmx_request_gets_the_list_only(client, blocker, carol):
    client.force_login(carol)
    response = client.get(FINDINGS, headers=HX)
    assert is_partial(response)
    assert ids(response) == [blocker.pk]


def test_the_inbox_needs_a_signed_in_person_and_a_get(client, blocker, carol):
    assert client.get(FINDINGS).status_code == 302
    client.force_login(carol)
    assert client.post(FINDINGS).status_code == 405


@pytest.mark.parametrize("count", [2, 20])
def test_the_inbox_costs_the_same_queries_for_2_or_20_findings(
    client, cycle, olga, count, django_assert_max_num_queries
):
    stage = f.stage("lifecycle", "renewal")
    for n in range(count):
        squad = f.squad(f"s{n}", dri=f.person(f"d{n}"), cycle=cycle)
        initiative = f.initiative(squad, "work")
        finding(
            cycle,
            rule="similar_initiatives",
            kind="overlap",
            subjects=[f"squad:{squad.key}", f"initiative:{initiative.ref}", f"stage:{stage.ref}"],
        )
    client.force_login(olga)
    with django_assert_max_num_queries(14):
        response = client.get(FINDINGS)
    assert len(ids(response)) == count


def test_a_finding_opened_again_because_it_got_worse_says_why(client, cycle, carol):
    note = "Re-opened: was 2 people over capacity when acknowledged, now 4.5."
    worse = finding(
        cycle,
        rule="over_capacity",
        kind="resource_conflict",
        subjects=["function:Product"],
        message="Product has 10.5 people planned on 3 initiatives in FY2027 but can staff 6",
        reopened_note=note,
        acknowledged_message="Product has 8 people planned on 3 initiatives in FY2027",
    )
    client.force_login(carol)
    assert note in client.get(FINDINGS).content.decode()
    page = client.get(reverse("finding", args=[worse.pk])).content.decode()
    assert note in page
    assert "When it was acknowledged" in page and "Product has 8 people planned" in page
    # Once someone acknowledges it again, the note has been answered.
    services.finding_acknowledge(finding=worse, by=carol)
    assert note not in client.get(FINDINGS).content.decode()
    assert Finding.objects.get(pk=worse.pk).reopened_note == ""


def test_the_inbox_names_twelve_subjects_of_a_finding_and_its_page_every_one(client, cycle, carol):
    subjects = [f"function:Function {n:02}" for n in range(30)]
    busy = finding(cycle, rule="over_capacity", kind="resource_conflict", subjects=subjects)
    client.force_login(carol)
    inbox = client.get(FINDINGS).content.decode()
    assert "Function 11" in inbox and "Function 12" not in inbox
    assert f'<a href="{reverse("finding", args=[busy.pk])}">and 18 more</a>' in inbox
    page = client.get(reverse("finding", args=[busy.pk])).content.decode()
    assert all(f"Function {n:02}" in page for n in range(30))
    assert "more</a>" not in page


def test_a_card_says_when_the_review_first_and_last_saw_it(client, cycle, carol):
    now = timezone.localtime()
    finding(cycle, message="Seen today only")
    older = finding(cycle, rule="declined", message="Seen before")
    Finding.objects.filter(pk=older.pk).update(first_seen=now - dt.timedelta(days=3))
    client.force_login(carol)
    page = client.get(FINDINGS).content.decode()
    today = f"{now.day} {now:%b} {now.year}"
    before = now - dt.timedelta(days=3)
    assert f"First seen {before.day} {before:%b} {before.year} · last seen {today}<" in page
    assert f"First seen {today}<" in page


def test_the_inbox_pages_fifty_at_a_time(client, cycle, carol):
    for n in range(55):
        finding(cycle, rule=f"r{n:02}", subjects=[f"function:F{n}"])
    client.force_login(carol)
    assert len(ids(client.get(FINDINGS))) == 50
    second = client.get(FINDINGS + "?page=2")
    assert len(ids(second)) == 5
    assert "Page 2 of 2" in second.content.decode()


# ---------------------------------------------------------------------------------------
# Triage
# ---------------------------------------------------------------------------------------


def test_operations_acknowledges_in_place(client, blocker, olga):
    client.force_login(olga)
    response = client.post(act(blocker, "acknowledge"), {"next": FINDINGS}, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    assert "Acknowledged" in response.content.decode()
    assert "by Olga Ortiz" in response.content.decode()
    blocker.refresh_from_db()
    assert blocker.state == "acknowledged" and blocker.state_changed_by == olga


def test_a_plain_post_redirects_back_to_the_inbox(client, blocker, leo):
    client.force_login(leo)
    back = FINDINGS + "?severity=high"
    response = client.post(act(blocker, "resolve"), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back + f"#finding-{blocker.pk}"
    blocker.refresh_from_db()
    assert blocker.state == "resolved"


def test_dismissing_needs_a_reason(client, blocker, olga):
    client.force_login(olga)
    url = reverse("finding_dismiss", args=[blocker.pk])
    response = client.post(url, {"reason": "  ", "next": FINDINGS}, headers=HX)
    assert response.status_code == 200
    assert is_partial(response)
    content = response.content.decode()
    assert "Say why this finding can be dismissed" in content
    assert 'name="reason"' in content
    assert Finding.objects.get(pk=blocker.pk).state == "open"

    # Without script: the finding's page with the form, the error and the typed text.
    response = client.post(url, {"reason": "x" * 2001})
    assert "<html" in response.content.decode()
    assert "x" * 2001 in response.content.decode()
    assert Finding.objects.get(pk=blocker.pk).state == "open"

    response = client.post(url, {"reason": "Agreed a new date with Product", "next": FINDINGS})
    assert response.status_code == 302
    blocker.refresh_from_db()
    assert blocker.state == "dismissed"
    assert blocker.dismissed_reason == "Agreed a new date with Product"
    content = client.get(FINDINGS + "?state=dismissed").content.decode()
    assert "Agreed a new date with Product" in content


def test_the_dismiss_form_opens_in_the_card_or_on_a_page(client, blocker, olga, bob):
    url = reverse("finding_dismiss", args=[blocker.pk])
    client.force_login(olga)
    assert is_partial(client.get(url, headers=HX))
    assert 'name="reason"' in client.get(url).content.decode()
    client.force_login(bob)
    assert client.get(url).status_code == 403


def test_a_dismissed_finding_can_be_reopened(client, blocker, olga):
    blocker.state = "dismissed"
    blocker.dismissed_reason = "Accepted"
    blocker.save()
    client.force_login(olga)
    client.post(act(blocker, "reopen"), headers=HX)
    assert Finding.objects.get(pk=blocker.pk).state == "open"


def test_a_change_that_no_longer_applies_is_refused(client, blocker, olga):
    blocker.state = "resolved"
    blocker.save()
    client.force_login(olga)
    response = client.post(act(blocker, "acknowledge"), headers=HX)
    assert "cannot be acknowledged" in response.content.decode()
    assert Finding.objects.get(pk=blocker.pk).state == "resolved"


def test_who_may_triage(client, blocker, gap, alice, bob, carol, olga):
    # Outsiders and plain members read but do not triage.
    client.force_login(bob)
    assert client.post(act(blocker, "acknowledge")).status_code == 403
    assert "finding_act" not in client.get(FINDINGS).content.decode()
    assert "Acknowledge</button>" not in client.get(FINDINGS).content.decode()
    # The DRI of a squad the finding concerns may, as the notification asks them to.
    client.force_login(alice)
    assert client.post(act(blocker, "acknowledge")).status_code == 302
    # ...but not a finding about nobody's squad.
    assert client.post(act(gap, "acknowledge")).status_code == 403
    assert Finding.objects.get(pk=gap.pk).state == "open"


def test_triage_errors_404_405_and_sign_in(client, blocker, olga):
    assert client.post(act(blocker, "acknowledge")).status_code == 302
    client.force_login(olga)
    assert client.get(act(blocker, "acknowledge")).status_code == 405
    assert client.post(reverse("finding_act", args=[99999, "resolve"])).status_code == 404
    assert client.post(act(blocker, "explode")).status_code == 404
    assert Finding.objects.get(pk=blocker.pk).state == "open"


def test_the_finding_page(client, blocker, carol):
    client.force_login(carol)
    response = client.get(reverse("finding", args=[blocker.pk]))
    assert response.status_code == 200
    assert "First 90 Days needed feature messaging" in response.content.decode()
    assert client.get(reverse("finding", args=[99999])).status_code == 404


# ---------------------------------------------------------------------------------------
# Running the review now
# ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def own_review_marks(monkeypatch):
    """Each test's "review on its way" marks apart: the cache outlives a test, and cycle ids
    repeat from one test database to the next."""
    prefix = uuid.uuid4().hex
    monkeypatch.setattr(tasks, "_pending_key", lambda cycle_id: f"{prefix}:p:{cycle_id}")
    monkeypatch.setattr(tasks, "_waiting_key", lambda cycle_id: f"{prefix}:w:{cycle_id}")


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(
        tasks.review_cycle, "apply_async", lambda args, **kw: sent.append(tuple(args))
    )
    return sent


def test_run_now_queues_the_review_and_the_page_polls_until_it_ends(
    client, cycle, squad, olga, queued
):
    client.force_login(olga)
    response = client.post(reverse("findings_run"), headers=HX)
    assert queued == [(cycle.pk, "manual")]
    content = response.content.decode()
    assert is_partial(response)
    assert 'hx-trigger="every 2s"' in content and "Queued" in content

    status = reverse("findings_status") + "?was=busy"
    assert "Queued" in client.get(status, headers=HX).content.decode()

    run = ReviewRun.objects.create(cycle=cycle, trigger="manual", today=timezone.localdate())
    response = client.get(status, headers=HX)
    assert "Reviewing" in response.content.decode()
    assert 'hx-trigger="every 2s"' in response.content.decode()
    assert "HX-Trigger" not in response.headers

    run.status = "done"
    run.finished_at = timezone.now()
    run.findings_open = 7
    run.save()
    response = client.get(status, headers=HX)
    content = response.content.decode()
    assert "every 2s" not in content
    assert "7 open" in content
    # The list on the page reloads itself once the run is over.
    assert "review-finished" in response.headers["HX-Trigger"]


def test_run_now_runs_here_when_no_broker_takes_it(client, cycle, squad, olga, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("no broker")

    monkeypatch.setattr(tasks.review_cycle, "apply_async", down)
    client.force_login(olga)
    response = client.post(reverse("findings_run"))
    assert response.status_code == 302
    run = ReviewRun.objects.get()
    assert run.status == "done" and run.trigger == "manual"
    page = client.get(FINDINGS).content.decode()
    assert "The review of FY2027 finished" in page
    assert "every 2s" not in page


def test_a_worker_that_never_starts_is_reported(client, cycle, olga, queued):
    client.force_login(olga)
    client.post(reverse("findings_run"))
    session = client.session
    stamp = timezone.now() - planning_views.REVIEW_STALLED_AFTER - dt.timedelta(seconds=5)
    session[planning_views.REVIEW_REQUEST_KEY]["at"] = stamp.isoformat()
    session.save()
    content = client.get(FINDINGS).content.decode()
    assert "No worker started the review" in content
    assert "every 2s" not in content


def test_who_may_run_the_review(client, cycle, squad, alice, carol, leo, queued):
    for person in (alice, carol):
        client.force_login(person)
        assert client.post(reverse("findings_run")).status_code == 403
        assert "Run the review now" not in client.get(FINDINGS).content.decode()
    assert queued == []
    client.force_login(leo)
    assert client.post(reverse("findings_run")).status_code == 302
    assert len(queued) == 1


def test_a_run_whose_worker_went_away_says_so_and_the_review_can_run_again(
    client, cycle, squad, olga, queued
):
    now = timezone.now()
    run = ReviewRun.objects.create(
        cycle=cycle,
        trigger="change",
        today=timezone.localdate(),
        lease_expires_at=now + dt.timedelta(seconds=30),
    )
    client.force_login(olga)
    page = client.get(FINDINGS).content.decode()
    assert "Reviewing FY2027" in page and "every 2s" in page
    assert "Run the review now" not in page

    # Its worker stopped renewing the lease: the run is over, though nothing marked it yet.
    ReviewRun.objects.filter(pk=run.pk).update(
        started_at=now - dt.timedelta(minutes=5), lease_expires_at=now - dt.timedelta(seconds=1)
    )
    run.refresh_from_db()
    response = client.get(reverse("findings_status") + "?was=busy", headers=HX)
    content = response.content.decode()
    started = timezone.localtime(run.started_at)
    assert f"The review that started at {started:%H:%M:%S} on {started.day} {started:%b}" in content
    assert "stopped without finishing" in content and "Run it again" in content
    assert "Reviewing" not in content and "every 2s" not in content
    assert "Run the review now" in content
    assert "review-finished" in response.headers["HX-Trigger"]

    # Read-only viewers see what happened, without being told to run it.
    client.force_login(squad.dri)
    page = client.get(FINDINGS).content.decode()
    assert "stopped without finishing" in page
    assert "Run it again" not in page and "Run the review now" not in page

    client.force_login(olga)
    response = client.post(reverse("findings_run"), headers=HX)
    assert queued == [(cycle.pk, "manual")]
    assert "Queued" in response.content.decode()
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at is not None
    assert "went away" in run.error
    # Everyone sees the new run on its way.
    client.force_login(squad.dri)
    assert "Queued" in client.get(FINDINGS).content.decode()


def _poll_url(content: str) -> str:
    """Where the status line polls, as the browser would request it."""
    found = re.search(r'hx-get="([^"]*findings/status[^"]*)" hx-trigger="every 2s"', content)
    assert found, "the page does not poll"
    return found.group(1).replace("&amp;", "&")


def test_a_review_a_change_queued_shows_on_everyones_page_which_follows_it_to_the_end(
    client, cycle, squad, carol, queued, django_assert_max_num_queries
):
    # Someone changes a plan: the change queues a review of the cycle.
    assert tasks.review_enqueue_now(cycle.pk)
    client.force_login(carol)  # a reader, who asked for nothing
    page = client.get(FINDINGS).content.decode()
    assert "a review of FY2027 is on its way" in page
    assert 'href="/findings/">reload the page</a>' in page
    assert "Run the review now" not in page  # Carol may not; operations still may
    poll = _poll_url(page)

    # Nothing changed yet: the poll answers cheaply, with nothing to swap.
    with django_assert_max_num_queries(3):
        response = client.get(poll, headers=HX)
    assert response.status_code == 204 and not response.content

    run = ReviewRun.objects.create(cycle=cycle, trigger="change", today=timezone.localdate())
    response = client.get(poll, headers=HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Reviewing FY2027" in content and "HX-Trigger" not in response.headers
    poll = _poll_url(content)
    assert client.get(poll, headers=HX).status_code == 204

    # The run ends with a new finding: the line says so, stops polling, and the list
    # (which reloads on the event) shows it.
    new = finding(cycle, message="A new blocker the run found")
    ReviewRun.objects.filter(pk=run.pk).update(
        status="done", finished_at=timezone.now(), findings_open=1, findings_new=1
    )
    response = client.get(poll, headers=HX)
    content = response.content.decode()
    assert "1 open, 1 new" in content and "every 2s" not in content
    assert "review-finished" in response.headers["HX-Trigger"]
    assert 'hx-trigger="review-finished from:body"' in page
    assert ids(client.get(FINDINGS, headers=HX)) == [new.pk]


def test_operations_may_run_the_review_now_while_a_change_review_waits(
    client, cycle, squad, olga, queued
):
    assert tasks.review_enqueue_now(cycle.pk)
    client.force_login(olga)
    page = client.get(FINDINGS).content.decode()
    assert "is on its way" in page and "Run the review now" in page
    response = client.post(reverse("findings_run"), headers=HX)
    content = response.content.decode()
    assert "Queued" in content and "Run the review now" not in content


def test_a_review_someone_else_ran_now_shows_as_queued(client, cycle, squad, olga, carol, queued):
    client.force_login(olga)
    client.post(reverse("findings_run"))
    client.force_login(carol)
    page = client.get(FINDINGS).content.decode()
    assert "Queued: waiting for a worker" in page
    assert "every 2s" in page


def test_an_idle_page_does_not_poll(client, cycle, squad, carol):
    ReviewRun.objects.create(
        cycle=cycle, trigger="schedule", today=timezone.localdate(), status="done"
    )
    client.force_login(carol)
    page = client.get(FINDINGS).content.decode()
    assert "Last review" in page
    assert "every 2s" not in page and "on its way" not in page
    # A review queued before the last one started is not on its way any more.
    assert tasks.review_enqueue_now(cycle.pk)
    ReviewRun.objects.create(
        cycle=cycle, trigger="change", today=timezone.localdate(), status="done"
    )
    assert "every 2s" not in client.get(FINDINGS).content.decode()


def test_the_poll_redraws_when_the_page_shows_something_else(client, cycle, squad, carol, queued):
    assert tasks.review_enqueue_now(cycle.pk)
    client.force_login(carol)
    stale = reverse("findings_status") + "?was=busy&seen=running.1.running"
    response = client.get(stale, headers=HX)
    assert response.status_code == 200
    assert "on its way" in response.content.decode()


def test_run_now_needs_a_post_and_status_is_for_htmx(client, cycle, olga):
    client.force_login(olga)
    assert client.get(reverse("findings_run")).status_code == 405
    assert client.get(reverse("findings_status")).status_code == 302


def test_resolve_service_reopens_on_the_next_review_if_still_found(cycle, blocker, olga):
    findings_services.finding_resolve(finding=blocker, by=olga)
    assert Finding.objects.get(pk=blocker.pk).state == "resolved"
    with pytest.raises(Exception, match="cannot be resolved"):
        findings_services.finding_resolve(finding=blocker, by=olga)


# ---------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------


def notify(user, finding_, message="Something serious"):
    return Notification.objects.create(recipient=user, finding=finding_, message=message)


def test_new_notifications_show_on_every_page(client, blocker, alice, bob):
    notify(alice, blocker, "Loop between your squads")
    notify(alice, blocker)
    notify(bob, blocker)
    client.force_login(alice)
    for url in (reverse("board:board"), FINDINGS, reverse("squads:list")):
        content = client.get(url).content.decode()
        assert 'aria-label="Notifications, 2 unread"' in content
        assert reverse("notifications") in content


def test_opening_notifications_lists_them_and_marks_them_read(client, blocker, alice, bob):
    mine = notify(alice, blocker, "Loop between your squads")
    theirs = notify(bob, blocker, "Not for Alice")
    client.force_login(alice)
    response = client.get(reverse("notifications"))
    content = response.content.decode()
    assert "Loop between your squads" in content
    assert "Not for Alice" not in content
    assert "New" in content
    assert reverse("finding", args=[blocker.pk]) in content
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    # Read now: no badge count, and no longer marked new.
    assert "unread" not in client.get(FINDINGS).content.decode()
    assert ">New<" not in client.get(reverse("notifications")).content.decode()


def test_the_badge_costs_no_query_of_its_own(client, blocker, alice):
    client.force_login(alice)
    client.get(reverse("squads:list"))
    with CaptureQueriesContext(connection) as none:
        client.get(reverse("squads:list"))
    for _ in range(5):
        notify(alice, blocker)
    with CaptureQueriesContext(connection) as five:
        content = client.get(reverse("squads:list")).content.decode()
    assert "Notifications, 5 unread" in content
    assert len(five) == len(none)
    # Counted in the one query that reads who the person is (core.access.actor_for).
    counts = [q["sql"] for q in five if "planning_notification" in q["sql"]]
    assert len(counts) == 1 and "auth_user_groups" in counts[0]


def test_notifications_need_a_signed_in_person_and_a_get(client, alice):
    assert client.get(reverse("notifications")).status_code == 302
    client.force_login(alice)
    assert client.post(reverse("notifications")).status_code == 405
