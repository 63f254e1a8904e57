"""The scheduled pull of a segment's milestone readings from a CSV address, against a real
HTTP server on this machine."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from journeys import milestone_feed, tasks
from journeys.models import Milestone, MilestoneReading, Segment
from tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = "milestone,measured_on,actual_days,completion_rate,customers,note\n"


class Feed(BaseHTTPRequestHandler):
    """Serves what the test puts in `routes`: path -> (status, headers, body)."""

    routes: dict[str, tuple[int, dict, bytes]] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        status, headers, body = self.routes.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    Feed.routes = {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def segment(db):
    made = Segment.objects.create(key="icp", name="Mid-market")
    Milestone.objects.create(segment=made, key="first-value", name="First value", expected_day=14)
    Milestone.objects.create(segment=made, key="activated", name="Activated", expected_day=60)
    return made


def feed_csv() -> bytes:
    today = timezone.localdate().isoformat()
    return (
        HEADER + f"first-value,{today},12,,40,from the warehouse\nactivated,{today},,71.5,40,\n"
    ).encode()


def pulled_page(client, segment) -> str:
    client.force_login(f.person("carol"))
    return client.get(reverse("journeys:milestones", args=[segment.key])).content.decode()


def test_a_pull_imports_the_feed_and_the_page_says_when(client, settings, server, segment):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    Feed.routes["/readings.csv"] = (200, {"Content-Type": "text/csv"}, feed_csv())
    Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=f"{server}/readings.csv")
    tasks.pull_milestone_feed.apply(args=[segment.pk])
    readings = MilestoneReading.objects.filter(milestone__segment=segment)
    assert readings.count() == 2 and {r.source for r in readings} == {"feed"}
    segment.refresh_from_db()
    assert segment.milestone_feed_rows == 2 and segment.milestone_feed_error == ""
    page = pulled_page(client, segment)
    assert "Last pulled" in page and "2 readings imported" in page
    # Pulling again replaces the same day's readings: nothing doubles.
    tasks.pull_milestone_feed(segment.pk)
    assert readings.count() == 2


def test_a_local_address_is_refused_when_private_addresses_are_not_allowed(
    client, settings, server, segment
):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = False
    Feed.routes["/readings.csv"] = (200, {}, feed_csv())
    Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=f"{server}/readings.csv")
    tasks.pull_milestone_feed(segment.pk)
    assert not MilestoneReading.objects.exists()
    segment.refresh_from_db()
    assert "private or local address" in segment.milestone_feed_error
    assert "private or local address" in pulled_page(client, segment)


def test_a_host_that_turns_private_after_its_check_is_not_fetched(
    settings, server, segment, rebinding_host
):
    """DNS rebinding: the feed's host looks public when checked and points at this machine
    when the connection is made. The pull fails with the reason; the feed is never read."""
    settings.MILESTONE_FEED_ALLOW_PRIVATE = False
    asked = []
    Feed.routes = {"/m.csv": (200, {}, feed_csv())}
    original = Feed.do_GET
    Feed.do_GET = lambda handler: (asked.append(handler.path), original(handler))[1]
    port = server.rsplit(":", 1)[1]
    segment.milestone_feed_url = f"http://{rebinding_host}:{port}/m.csv"
    segment.save()
    try:
        assert milestone_feed.pull(segment) is None
    finally:
        Feed.do_GET = original

    segment.refresh_from_db()
    assert segment.milestone_feed_error == (
        f"The host {rebinding_host} is a private or local address."
    )
    assert asked == []
    assert not MilestoneReading.objects.filter(milestone__segment=segment).exists()


def test_a_feed_that_trickles_its_answer_is_cut_off_when_the_pull_is_over(
    settings, monkeypatch, segment, trickling_server
):
    """No single wait times out, yet the head alone would take 15 seconds: the pull ends at
    its limit (2 seconds here), fails with the reason and imports nothing."""
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    monkeypatch.setattr(milestone_feed, "PULL_SECONDS", 2)
    segment.milestone_feed_url = f"{trickling_server.url}/m.csv"
    segment.save()

    assert milestone_feed.pull(segment) is None

    segment.refresh_from_db()
    assert (
        segment.milestone_feed_error == "The address did not send the whole file within 2 seconds."
    )
    assert trickling_server.outcome() == "cut off"
    assert not MilestoneReading.objects.filter(milestone__segment=segment).exists()


def test_a_redirect_to_an_address_it_may_not_fetch_is_refused(settings, server, segment):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    Feed.routes["/moved"] = (302, {"Location": "file:///etc/passwd"}, b"")
    Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=f"{server}/moved")
    tasks.pull_milestone_feed(segment.pk)
    segment.refresh_from_db()
    assert "must start with http:// or https://" in segment.milestone_feed_error
    assert not MilestoneReading.objects.exists()


def test_a_redirect_to_a_good_address_is_followed(settings, server, segment):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    Feed.routes["/moved"] = (302, {"Location": "/readings.csv"}, b"")
    Feed.routes["/readings.csv"] = (200, {}, feed_csv())
    Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=f"{server}/moved")
    tasks.pull_milestone_feed(segment.pk)
    assert MilestoneReading.objects.count() == 2


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ((200, {}, b"x" * (1024 * 1024 + 1)), "larger than 1 MB"),
        ((500, {}, b"oops"), "answered 500"),
        ((200, {}, (HEADER + "nope,2026-01-01,3,,,\n").encode()), "Row 2: Mid-market has no"),
    ],
)
def test_a_failed_pull_keeps_the_reason_and_imports_nothing(
    client, settings, server, segment, route, message
):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    Feed.routes["/readings.csv"] = route
    Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=f"{server}/readings.csv")
    tasks.pull_milestone_feed(segment.pk)
    assert not MilestoneReading.objects.exists()
    segment.refresh_from_db()
    assert message in segment.milestone_feed_error
    assert message in pulled_page(client, segment)


def test_the_pull_is_on_the_schedule(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "journeys.tasks.pull_milestone_feeds" in schedule


class Trickle(BaseHTTPRequestHandler):
    """A feed that answers at once and then sends its body a byte at a time, never ending
    (until the puller hangs up): each read is quick, the whole never comes."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        try:
            self.wfile.write(HEADER.encode())
            while True:
                self.wfile.write(b" ")
                self.wfile.flush()
                threading.Event().wait(0.05)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_feed_that_never_finishes_is_given_up_on(settings, monkeypatch, segment):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    monkeypatch.setattr(milestone_feed, "PULL_SECONDS", 1)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/readings.csv"
        Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=url)
        tasks.pull_milestone_feed(segment.pk)
    finally:
        httpd.shutdown()
        httpd.server_close()
    segment.refresh_from_db()
    assert segment.milestone_feed_error == (
        "The address did not send the whole file within 1 second."
    )
    assert not MilestoneReading.objects.exists()


class Stalls(BaseHTTPRequestHandler):
    """A feed that answers, sends part of its file and then nothing more."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(HEADER.encode())
        self.wfile.flush()
        threading.Event().wait(3)

    def log_message(self, *args):
        pass


def test_a_feed_that_stops_halfway_is_a_failed_pull(settings, monkeypatch, segment):
    settings.MILESTONE_FEED_ALLOW_PRIVATE = True
    monkeypatch.setattr(milestone_feed, "TIMEOUT_SECONDS", 1)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Stalls)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/readings.csv"
        Segment.objects.filter(pk=segment.pk).update(milestone_feed_url=url)
        tasks.pull_milestone_feed(segment.pk)
    finally:
        httpd.shutdown()
        httpd.server_close()
    segment.refresh_from_db()
    assert segment.milestone_feed_error == "The address stopped sending for 1 second."
    assert not MilestoneReading.objects.exists()
