"""The services underneath failing, for real: Redis stopped, a Celery worker killed in the
middle of a review, PostgreSQL dropping every connection. People keep working, nothing is
half written, and the next review puts everything right.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core.models import Cycle
from planning.models import Finding, Notification, ReviewRun
from planning.review import review
from planning.services import REVIEW_LOCK_NAMESPACE, review_run
from planning.snapshot import snapshot_for_cycle
from planning.tasks import review_cycle, review_enqueue_now, review_open_cycles
from squads.models import CheckIn, Plan
from tests import factories
from tests.conftest import CeleryWorker, on_ci, running_celery_worker
from throughline.celery import app

EXAMPLE = Path(django_settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"
SQUAD = "/squads/first-90-days"
User = get_user_model()


def _missing(reason: str) -> None:
    if on_ci():
        pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


def load_demo(settings) -> Cycle:
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    return Cycle.objects.get(key="fy2027")


# --- Redis down ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free_port_for_tests() -> int:
    """A free port in 16400-16499, the range kept for services that tests start and stop."""
    for port in range(16400, 16500):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free port in 16400-16499 for a Redis of this test's own")


@contextmanager
def private_redis(port: int, data_dir: Path | None = None) -> Iterator[subprocess.Popen]:
    """A Redis of this test's own (never the shared one): without persistence, or with an
    append-only file in `data_dir`, as in production, so what it holds survives a restart."""
    process = start_private_redis(port, data_dir)
    try:
        yield process
    finally:
        stop(process)


def start_private_redis(port: int, data_dir: Path | None = None) -> subprocess.Popen:
    persistence = ["--appendonly", "no"]
    if data_dir is not None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(data_dir)]
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            *persistence,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                return process
            except (redis.ConnectionError, redis.BusyLoadingError):  # up, or reading its file
                if process.poll() is not None or time.monotonic() > deadline:
                    stop(process)
                    pytest.fail(f"redis-server on port {port} did not answer within 10s")
                time.sleep(0.05)
    finally:
        client.close()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(10)


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Send tasks to `url` for the time being; Celery's connection pools start afresh."""

    def forget_pools() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    app.conf.broker_url = url
    forget_pools()
    try:
        yield
    finally:
        app.conf.broker_url = previous
        forget_pools()


@pytest.fixture
def redis_server_binary() -> None:
    if shutil.which("redis-server") is None:
        _missing("needs redis-server to start a Redis of its own: apt-get install redis-server")


@pytest.mark.redis
def test_with_redis_down_pages_and_saves_keep_working_and_reviews_wait_for_the_sweep(
    redis_server_binary, transactional_db, settings, client, caplog
):
    # Commits are real here, so each save asks for its review as it does in production.
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "BACKEND": "throughline.redis_cache.RedisCache",
            "LOCATION": url,
        }
    }
    with celery_broker(url), private_redis(port) as server:
        cycle = load_demo(settings)
        client.force_login(User.objects.get(username="marco"))  # a member of First 90 Days
        assert client.get(f"{SQUAD}/plan/").status_code == 200

        stop(server)
        caplog.set_level(logging.WARNING)
        started = time.monotonic()

        assert client.get(f"{SQUAD}/plan/").status_code == 200
        assert client.get("/board/").status_code == 200
        edit = f"{SQUAD}/plan/section/desired-experience/edit/"
        response = client.post(
            edit,
            {
                "text": "Day 1: every customer is welcomed by name.",
                "version": factories.shown_version(client, edit),
            },
        )
        assert response.status_code == 302
        assert Plan.objects.get(squad__key="first-90-days").desired_experience == (
            "Day 1: every customer is welcomed by name."
        )
        # A check-in moves its key result, so once it commits it asks for a review: that
        # fails softly, logged.
        response = client.post(
            f"{SQUAD}/key-results/activation/check-ins/",
            {"value": "42", "confidence": "7", "note": "Redis is down and this still saves."},
        )
        assert response.status_code == 302
        assert CheckIn.objects.filter(note="Redis is down and this still saves.").exists()
        assert "the periodic review will catch up" in caplog.text
        # Sessions live in the database too: signing out and in again works without Redis.
        assert client.post("/accounts/logout/").status_code == 302
        assert client.get(f"{SQUAD}/plan/").status_code == 302  # to the sign-in page
        client.force_login(User.objects.get(username="marco"))
        assert (
            "Every customer is welcomed by name." in client.get(f"{SQUAD}/plan/").content.decode()
        )
        assert time.monotonic() - started < 30

        # Asking for a review never raises, and gives up on the broker quickly.
        caplog.clear()
        asked = time.monotonic()
        assert review_enqueue_now(cycle.pk) is False
        assert time.monotonic() - asked < 3
        assert "the periodic review will catch up" in caplog.text

        # Redis is back: the next periodic sweep queues the review nobody could queue.
        with private_redis(port):
            review_open_cycles()
            messages = redis.Redis(port=port).lrange(app.conf.task_default_queue, 0, -1)
    queued_reviews = [m for m in messages if b"planning.tasks.review_cycle" in m]
    assert any(f"({cycle.pk}, 'schedule')".encode() in m for m in queued_reviews), messages


# --- Redis going away under a worker ----------------------------------------------------


def _wait_for(condition, what: str, worker: CeleryWorker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.process.poll() is None, f"the worker exited:\n{worker.output()}"
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f}s:\n{worker.output()}"
        time.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery
def test_a_worker_outlives_redis_and_runs_the_review_it_held_once_redis_is_back(
    redis_server_binary, transactional_db, tmp_path
):
    port = _free_port_for_tests()
    url = f"redis://127.0.0.1:{port}/0"
    data = tmp_path / "redis-data"
    data.mkdir()
    cycle = Cycle.objects.create(
        key="fy2027", name="FY2027", starts=dt.date(2027, 1, 1), ends=dt.date(2027, 12, 31)
    )
    runs = ReviewRun.objects.filter(cycle=cycle, trigger="schedule")
    servers = [start_private_redis(port, data)]
    try:
        with celery_broker(url), running_celery_worker(broker_url=url, log_dir=tmp_path) as worker:
            # As after a change: the worker holds the review until its countdown ends.
            review_cycle.apply_async((cycle.pk, "schedule"), countdown=8)
            _wait_for(lambda: "review_cycle[" in worker.output(), "the worker took it", worker)

            stop(servers[0])
            _wait_for(
                lambda: "Connection to broker lost" in worker.output(),
                "the worker noticing Redis gone",
                worker,
            )
            assert not runs.exists()

            servers.append(start_private_redis(port, data))
            _wait_for(
                lambda: runs.filter(status=ReviewRun.Status.DONE).exists(),
                "the held review",
                worker,
            )
            # The same worker process, connected again, carries on.
            assert worker.process.poll() is None
            assert worker.output().count("Connected to redis://") == 2
            assert "Unrecoverable error" not in worker.output()
            assert runs.count() == 1
    finally:
        for server in servers:
            stop(server)


# --- signing out while Redis is down ---------------------------------------------------------


def _cache_answers() -> None:
    """Wait for the app's cache to reach the restarted Redis (its pooled connections died)."""
    from django.core.cache import cache

    deadline = time.monotonic() + 10
    while True:
        try:
            cache.get("anything")
            return
        except Exception:
            assert time.monotonic() < deadline, "the cache did not reconnect within 10s"
            time.sleep(0.05)


@pytest.mark.redis
def test_a_sign_out_while_redis_is_down_holds_when_redis_comes_back(
    redis_server_binary, db, settings, tmp_path
):
    from django.test import Client

    from api.models import ApiToken
    from tests import factories as f

    port = _free_port_for_tests()
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "BACKEND": "throughline.redis_cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    person = f.person("marco", "Marco Rossi")
    person.set_password("a long and private phrase")
    person.save()
    browser = Client()
    with private_redis(port, tmp_path) as server:
        signed_in = browser.post(
            "/accounts/login/",
            {"username": "marco", "password": "a long and private phrase"},
        )
        assert signed_in.status_code == 302
        assert browser.get("/account/api-tokens/").status_code == 200
        cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value
        stop(server)

        assert browser.post("/accounts/logout/").status_code == 302

    # Redis comes back from its file, the copy of the ended session with it.
    with private_redis(port, tmp_path):
        stale = redis.Redis(port=port).keys(f"*cached_db{cookie}")
        assert stale, "Redis did not keep the session: this test would prove nothing"
        _cache_answers()
        old = Client()
        old.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
        page = old.get("/account/api-tokens/")
        assert page.status_code == 302
        assert page["Location"].startswith("/accounts/login/")
        made = old.post("/account/api-tokens/", {"name": "after sign-out"})
        assert made.status_code == 302
        assert made["Location"].startswith("/accounts/login/")
        assert old.get("/api/v1/cycles").status_code == 401
        assert not ApiToken.objects.filter(user=person).exists()
        # The stale copy is gone now, and signing in again works as before.
        assert not redis.Redis(port=port).keys(f"*cached_db{cookie}")
        again = Client()
        again.post(
            "/accounts/login/",
            {"username": "marco", "password": "a long and private phrase"},
        )
        assert again.get("/account/api-tokens/").status_code == 200


# --- a Celery worker killed in the middle of a review ------------------------------------


def _advisory_locks(cycle: Cycle) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objid = %s AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            [REVIEW_LOCK_NAMESPACE, cycle.pk % 2**31],
        )
        return cursor.fetchone()[0]


def _forget_unacknowledged(queue: str) -> None:
    client = redis.Redis.from_url(app.conf.broker_url)
    try:
        for tag, raw in client.hgetall("unacked").items():
            if json.loads(raw)[-1] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


@pytest.fixture
def pausing_worker(request, monkeypatch, transactional_db):
    """A real worker whose reviews pause 60 seconds before they commit."""
    monkeypatch.setenv("REVIEW_PAUSE_SECONDS", "60")  # read as the worker starts
    return request.getfixturevalue("celery_worker_process")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery
def test_a_worker_killed_in_the_middle_of_a_review_leaves_nothing_half_written(
    settings, monkeypatch, pausing_worker
):
    # Loaded without the review the import would queue: this test starts the only one.
    monkeypatch.setattr("planning.tasks.review_enqueue_now", lambda cycle_id: False)
    cycle = load_demo(settings)
    today = dt.date(2027, 2, 20)

    review_cycle.delay(cycle.pk, "schedule", today.isoformat())
    deadline = time.monotonic() + 60
    while "pauses 60s before it commits" not in pausing_worker.output():
        assert pausing_worker.process.poll() is None, pausing_worker.output()
        assert time.monotonic() < deadline, pausing_worker.output()
        time.sleep(0.1)
    # Every finding is written, in a transaction that holds the cycle's lock and is not
    # committed: none of it shows.
    assert _advisory_locks(cycle) == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction'"
        )
        assert cursor.fetchone()[0] >= 1
    assert not Finding.objects.filter(cycle=cycle).exists()

    os.killpg(pausing_worker.process.pid, signal.SIGKILL)
    pausing_worker.process.wait(10)
    # Redis keeps the task the worker took but never acknowledged, to hand it out again
    # after the visibility timeout; this test's queue is gone after it, so is that copy.
    _forget_unacknowledged(pausing_worker.queue)

    # The killed run left only its start behind; its connection, and the lock, are gone.
    [killed] = ReviewRun.objects.filter(cycle=cycle)
    assert killed.status == ReviewRun.Status.RUNNING
    assert not Finding.objects.filter(cycle=cycle).exists()
    assert not Notification.objects.exists()
    deadline = time.monotonic() + 10
    while _advisory_locks(cycle):
        assert time.monotonic() < deadline, "the dead worker's lock outlived it"
        time.sleep(0.1)

    # The next run completes, with every finding once.
    started = time.monotonic()
    run = review_run(cycle=cycle, today=today, trigger="schedule")
    assert time.monotonic() - started < 30
    assert run.status == ReviewRun.Status.DONE
    expected = review(snapshot_for_cycle(cycle), today)
    stored = list(Finding.objects.filter(cycle=cycle).values_list("identity", "rule", "subjects"))
    assert sorted(stored) == sorted((f.identity, f.rule, list(f.subjects)) for f in expected)
    assert run.findings_new == len(expected) == run.findings_open
    notified = Counter(Notification.objects.values_list("recipient_id", "finding_id"))
    assert all(count == 1 for count in notified.values())
    assert _advisory_locks(cycle) == 0


@pytest.fixture
def leased_pausing_worker(request, monkeypatch, settings, transactional_db):
    """A real worker whose reviews pause 30 seconds before they commit, with 3-second
    leases on its runs (read as the worker starts; this process judges with the same)."""
    monkeypatch.setenv("REVIEW_PAUSE_SECONDS", "30")
    monkeypatch.setenv("REVIEW_LEASE_SECONDS", "3")
    settings.REVIEW_LEASE_SECONDS = 3
    return request.getfixturevalue("celery_worker_process")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery
def test_a_review_outlasting_its_lease_stays_running_until_its_worker_is_killed(
    leased_pausing_worker, client, monkeypatch
):
    worker = leased_pausing_worker
    cycle = Cycle.objects.create(
        key="fy2027", name="FY2027", starts=dt.date(2027, 1, 1), ends=dt.date(2027, 12, 31)
    )
    olga = factories.person("olga", "Olga Ortiz", function="Operations")
    olga.groups.add(Group.objects.get_or_create(name="Operations")[0])
    client.force_login(olga)

    review_cycle.delay(cycle.pk, "schedule")
    _wait_for(lambda: "pauses 30s before it commits" in worker.output(), "the pause", worker)
    [run] = ReviewRun.objects.filter(cycle=cycle)
    first_lease_end = run.lease_expires_at
    # Well past the lease it started with, the worker keeps renewing it: still reviewing.
    _wait_for(
        lambda: timezone.now() > first_lease_end + dt.timedelta(seconds=2),
        "the first lease to run out",
        worker,
    )
    page = client.get("/findings/").content.decode()
    assert "Reviewing FY2027" in page
    assert "Run the review now" not in page
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.RUNNING and run.lease_expires_at > first_lease_end

    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)
    _forget_unacknowledged(worker.queue)

    # Nobody renews the lease now: within seconds the page says the review stopped.
    deadline = time.monotonic() + 30
    while "stopped without finishing" not in (page := client.get("/findings/").content.decode()):
        assert time.monotonic() < deadline, page
        time.sleep(0.2)
    assert "Run the review now" in page and "Reviewing" not in page

    # And a new run starts and finishes; the abandoned one is marked failed.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    assert client.post("/findings/run/").status_code == 302
    run.refresh_from_db()
    assert run.status == ReviewRun.Status.FAILED and "went away" in run.error
    latest = ReviewRun.objects.filter(cycle=cycle).first()
    assert latest.pk != run.pk and latest.status == ReviewRun.Status.DONE
    assert "Last review just now" in client.get("/findings/").content.decode()


# --- PostgreSQL dropping its connections ------------------------------------------------


def terminate_every_other_connection() -> int:
    """What a database restart or failover does to the app: every connection dropped."""
    params = connection.get_connection_params()
    params.pop("pool", None)
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def fill_the_pool() -> None:
    """Every connection the pool may hold open and idle, as after a busy hour: a dropped
    connection is then found by each request in turn unless the pool replaces them all."""
    pool = connection.pool
    taken = []
    try:
        while len(taken) < pool.max_size - 1:
            taken.append(pool.getconn(timeout=5))
    finally:
        for conn in taken:
            pool.putconn(conn)
    assert pool.get_stats()["pool_available"] >= pool.max_size - 2


@pytest.mark.postgres
def test_the_next_request_after_postgresql_dropped_every_connection_succeeds(
    transactional_db, live_server, settings, client, monkeypatch
):
    """Through a real server: each request takes a connection from the pool and gives it
    back, as in production (the test client keeps one connection for the whole test)."""
    monkeypatch.setattr("planning.tasks.review_enqueue_now", lambda cycle_id: False)
    load_demo(settings)
    client.force_login(User.objects.get(username="marco"))
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value)
    plan = f"{live_server.url}{SQUAD}/plan/"
    assert browser.get(plan, timeout=30).status_code == 200
    csrf = browser.cookies.get("csrftoken") or browser.get(plan).cookies["csrftoken"]

    for attempt in range(3):  # the pool's spare connections as well as the one in use
        fill_the_pool()
        assert terminate_every_other_connection() >= 1

        assert browser.get(plan, timeout=30).status_code == 200
        edit = f"{live_server.url}{SQUAD}/plan/section/success-metrics/edit/"
        editor = browser.get(edit, timeout=30).text
        version = re.search(r'name="version" value="(\d+)"', editor)[1]
        response = browser.post(
            edit,
            {
                "text": f"Day-90 activation, check {attempt}",
                "version": version,
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": plan},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[:500]
    connection.close()  # this test's own connection was dropped too
    saved = Plan.objects.get(squad__key="first-90-days").success_metrics
    assert saved == "Day-90 activation, check 2"
