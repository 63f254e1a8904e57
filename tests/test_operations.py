"""What an operator relies on: /health/ and /ready/ say whether this process can serve,
/metrics counts what happened (across every gunicorn worker) and answers only whom it should,
and the JSON log lines name each request without giving away a secret."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from planning import services
from planning.models import Finding
from planning.tasks import review_cycle
from tests import factories as f
from tests.conftest import ROOT, running_celery_worker, running_gunicorn
from throughline import health, metrics
from throughline.logs import JsonFormatter

HOST = {"HTTP_HOST": "localhost"}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus's text format, None when it is absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        found_name, _, label_text = series.partition("{")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', label_text))
        if found_name == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@contextmanager
def silent_port():
    """A port that accepts connections and never answers: a hung server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def fresh_clients():
    """Each test's Redis addresses get clients of their own."""
    health._redis_client.cache_clear()
    metrics.broker_redis.cache_clear()
    yield
    health._redis_client.cache_clear()
    metrics.broker_redis.cache_clear()


# --- /health/ and /ready/ --------------------------------------------------------------------


def test_health_answers_anyone_without_touching_the_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/health/", **HOST)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert Client().post("/health/", **HOST).status_code == 405


@pytest.mark.redis
def test_ready_reports_each_check_when_all_answer(transactional_db):
    response = Client().get("/ready/", **HOST)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert list(body["checks"]) == ["database", "migrations", "redis", "broker"]
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.redis
def test_ready_is_503_when_redis_is_down_and_names_no_password(transactional_db, settings):
    url = f"redis://:hunter2-redis@127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    response = Client().get("/ready/", **HOST)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["detail"] == "ConnectionError"
    assert body["checks"]["broker"]["ok"] is False
    assert "hunter2" not in response.content.decode()
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.redis
def test_ready_gives_up_on_a_hung_redis_and_says_so(transactional_db, settings):
    settings.READY_TIMEOUT_MS = 300
    with silent_port() as port:
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        response = Client().get("/ready/", **HOST)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is False
    assert checks["redis"]["detail"] in {"TimeoutError", "no answer within 300 ms"}
    assert checks["database"]["ok"] is True


def test_a_check_that_hangs_is_cut_off_and_not_queued_behind():
    release = threading.Event()

    def hangs() -> dict:
        release.wait(30)
        return {"ok": True}

    try:
        first = health.run_checks({"hangs": hangs}, 0.05)
        assert first["hangs"]["ok"] is False
        assert first["hangs"]["detail"] == "no answer within 50 ms"
        # The first is still hanging: the next probe is answered at once, not stacked on it.
        second = health.run_checks({"hangs": hangs}, 30)
        assert second["hangs"] == {"ok": False, "detail": "the previous check has not answered yet"}
    finally:
        release.set()
    health._running["hangs"].join(10)
    third = health.run_checks({"hangs": hangs}, 30)
    assert third["hangs"]["ok"] is True


@pytest.mark.redis
def test_ready_is_503_while_a_migration_is_not_applied(transactional_db, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, app, name, applied FROM django_migrations "
            "WHERE app = 'planning' ORDER BY id DESC LIMIT 1"
        )
        row = cursor.fetchone()
        cursor.execute("DELETE FROM django_migrations WHERE id = %s", [row[0]])
    try:
        response = Client().get("/ready/", **HOST)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (id, app, name, applied) VALUES (%s, %s, %s, %s)",
                list(row),
            )
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["ok"] is False
    assert response.json()["checks"]["migrations"]["detail"] == "1 migrations not applied"
    assert Client().get("/ready/", **HOST).status_code == 200


# --- /metrics: who may read it ---------------------------------------------------------------


@pytest.fixture
def admin(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-long-enough")


def test_metrics_are_refused_to_everyone_unless_configured(admin, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    anonymous = Client().get("/metrics", **HOST)
    assert anonymous.status_code == 403
    assert b"METRICS_TOKEN" in anonymous.content
    signed_in = Client()
    signed_in.force_login(admin)
    assert signed_in.get("/metrics", **HOST).status_code == 403
    # An empty bearer does not match an empty token.
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ", **HOST).status_code == 403


def test_metrics_answer_the_bearer_token_and_nothing_else(db, settings):
    settings.METRICS_TOKEN = "scrape-" + uuid.uuid4().hex
    settings.METRICS_ALLOWED_IPS = []
    ok = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}", **HOST)
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain; version=")
    assert "throughline_http_request_duration_seconds" in ok.content.decode()
    for header in (f"Bearer {settings.METRICS_TOKEN}x", "Bearer wrong", settings.METRICS_TOKEN):
        assert Client().get("/metrics", HTTP_AUTHORIZATION=header, **HOST).status_code == 403


def test_metrics_answer_the_allowed_addresses(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "192.0.2.7"]
    for address in ("10.1.2.3", "192.0.2.7"):
        assert Client(REMOTE_ADDR=address).get("/metrics", **HOST).status_code == 200
    for address in ("127.0.0.1", "192.0.2.8", "11.0.0.1"):
        assert Client(REMOTE_ADDR=address).get("/metrics", **HOST).status_code == 403


# --- /metrics: what it counts --------------------------------------------------------------


@pytest.fixture
def scrape(settings):
    settings.METRICS_TOKEN = "scrape-" + uuid.uuid4().hex

    def read() -> str:
        response = Client().get(
            "/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}", **HOST
        )
        assert response.status_code == 200
        return response.content.decode()

    return read


def test_requests_are_counted_by_route_method_and_status_class(db, scrape):
    before = scrape()
    client = Client()
    for _ in range(3):
        client.get("/health/", **HOST)
    client.post("/health/", **HOST)
    client.get("/no-such-page/", **HOST)
    client.get("/findings/", **HOST)  # signed out: sent to sign in
    after = scrape()

    def grew(**labels: str) -> float:
        name = "throughline_http_request_duration_seconds_count"
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew(route="health", method="GET", status="2xx") == 3
    assert grew(route="health", method="POST", status="4xx") == 1
    assert grew(route="unmatched", method="GET", status="4xx") == 1
    assert grew(route="findings", method="GET", status="3xx") == 1


def test_open_findings_are_counted_by_kind_for_cycles_not_ended(db, scrape):
    now = timezone.now()
    current = f.cycle("fy2027")
    past = f.cycle("fy2020")
    past.starts, past.ends = dt.date(2020, 1, 1), dt.date(2020, 12, 31)
    past.save()

    def finding(cycle, kind, state, n):
        Finding.objects.create(
            cycle=cycle,
            kind=kind,
            rule="rule",
            severity="low",
            subjects=[f"squad:s{n}"],
            identity=f"id-{n}",
            message="m",
            state=state,
            first_seen=now,
            last_seen=now,
        )

    finding(current, "blocker", "open", 1)
    finding(current, "blocker", "open", 2)
    finding(current, "overlap", "open", 3)
    finding(current, "overlap", "acknowledged", 4)
    finding(current, "overlap", "resolved", 5)
    finding(past, "blocker", "open", 6)
    text = scrape()
    name = "throughline_findings_open"
    assert sample(text, name, cycle="fy2027", kind="blocker") == 2
    assert sample(text, name, cycle="fy2027", kind="overlap") == 1
    assert sample(text, name, cycle="fy2027", kind="ownership_gap") == 0
    assert sample(text, name, cycle="fy2020", kind="blocker") is None
    assert sample(text, "throughline_metrics_scrape_error", reading="findings") == 0


@pytest.mark.redis
def test_the_queue_length_is_the_brokers_list(db, scrape, settings):
    queue = f"throughline-test-{uuid.uuid4().hex[:12]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        assert sample(scrape(), "throughline_celery_queue_length", queue=queue) == 0
        client.rpush(queue, *[json.dumps({"task": n}) for n in range(4)])
        assert sample(scrape(), "throughline_celery_queue_length", queue=queue) == 4
    finally:
        client.delete(queue)
        client.close()


def test_a_broker_that_does_not_answer_is_reported_not_fatal(db, scrape, settings):
    settings.CELERY_BROKER_URL = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    text = scrape()
    assert sample(text, "throughline_metrics_scrape_error", reading="queue") == 1
    assert sample(text, "throughline_metrics_scrape_error", reading="findings") == 0
    assert "hunter2" not in text


def test_each_review_is_timed_once_it_commits(db, scrape, django_capture_on_commit_callbacks):
    name = "throughline_review_duration_seconds_count"
    before = sample(scrape(), name, trigger="command", status="done") or 0
    with django_capture_on_commit_callbacks(execute=True):
        services.review_run(cycle=f.cycle("fy2027"), trigger="command")
    assert sample(scrape(), name, trigger="command", status="done") == before + 1


# --- JSON log lines --------------------------------------------------------------------------


@contextmanager
def json_logs():
    """The app's console handler writing JSON lines, for the time being."""
    out = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert handlers, "no console handler configured"
    previous = [(h, h.setStream(out), h.formatter) for h in handlers]
    for handler in handlers:
        handler.setFormatter(JsonFormatter())
    try:
        yield out
    finally:
        for handler, stream, formatter in previous:
            handler.setStream(stream)
            handler.setFormatter(formatter)


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_request_id_and_path_and_no_secret(db):
    given = "req-" + uuid.uuid4().hex
    secret = "tl_" + "s" * 30
    with json_logs() as out:
        response = Client().get(
            "/no-such-page/?password=hunter2-long",
            HTTP_X_REQUEST_ID=given,
            HTTP_AUTHORIZATION=f"Bearer {secret}",
            HTTP_COOKIE="sessionid=abcdefsessionvalue123",
            **HOST,
        )
        logging.getLogger("planning.views").warning(
            "posted %s with sessionid=abcdefsessionvalue123", {"password": "hunter3-long"}
        )
    assert response.status_code == 404
    assert response["X-Request-ID"] == given
    records = lines(out)
    not_found = next(r for r in records if r["message"].startswith("Not Found"))
    assert not_found["request_id"] == given
    assert not_found["path"] == "/no-such-page/"
    assert not_found["method"] == "GET"
    assert not_found["status_code"] == 404
    assert not_found["level"] == "WARNING"
    assert not_found["logger"] == "django.request"
    text = out.getvalue()
    for leaked in (secret, "hunter2-long", "hunter3-long", "abcdefsessionvalue123"):
        assert leaked not in text
    # Written outside any request: no request id.
    assert "request_id" not in records[-1]


def test_a_request_id_that_is_not_a_plain_token_is_replaced(db):
    response = Client().get("/health/", HTTP_X_REQUEST_ID='x" injected\nline', **HOST)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_json_lines_carry_the_traceback_redacted(db):
    with json_logs() as out:
        try:
            raise RuntimeError("could not reach /calendar/feed/abcdefsecret/mine.ics")
        except RuntimeError:
            logging.getLogger("planning.views").exception("failed")
    (record,) = lines(out)
    assert "RuntimeError: could not reach /calendar/feed/[redacted]/mine.ics" in record["exception"]
    assert "abcdefsecret" not in out.getvalue()


# --- under gunicorn, with a real server process ------------------------------------------------


def served_by(log: Path, path: str) -> list[int]:
    """The worker pid of each request for `path` in the access log, in order."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return [int(pid) for pid in re.findall(rf'pid=<(\d+)> "GET {re.escape(path)} ', text)]


@pytest.mark.redis
def test_under_gunicorn_every_workers_requests_are_counted(transactional_db, tmp_path):
    token = "scrape-" + uuid.uuid4().hex
    log = tmp_path / "gunicorn.log"
    auth = {"Authorization": f"Bearer {token}"}
    with running_gunicorn({"METRICS_TOKEN": token}, log, workers=2) as (base, process):
        sent = 0
        with requests.Session() as session, ThreadPoolExecutor(4) as pool:
            # Side by side, new connections each: both workers take some.
            for _ in range(25):
                answers = list(pool.map(lambda _: requests.get(f"{base}/health/"), range(20)))
                assert all(a.status_code == 200 for a in answers)
                sent += len(answers)
                if len(set(served_by(log, "/health/"))) >= 2:
                    break
            pids = set(served_by(log, "/health/"))
            assert len(pids) == 2, f"all {sent} requests went to one worker: {pids}"

            def counted() -> float:
                answer = session.get(f"{base}/metrics", headers=auth, timeout=10)
                assert answer.status_code == 200, answer.text
                name = "throughline_http_request_duration_seconds_count"
                return sample(answer.text, name, route="health", method="GET", status="2xx")

            # Whichever worker answers the scrape, it counts both workers' requests.
            for _ in range(6):
                assert counted() == sent
            scrapers = set(served_by(log, "/metrics"))
            assert scrapers <= pids

            # A worker that exits is replaced; what it counted stays counted, and what its
            # replacement counts is added.
            gone = sorted(pids)[0]
            os.kill(gone, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while not set(served_by(log, "/health/")) - pids and time.monotonic() < deadline:
                answers = list(pool.map(lambda _: requests.get(f"{base}/health/"), range(4)))
                assert all(a.status_code == 200 for a in answers)
                sent += len(answers)
                time.sleep(0.2)
            assert set(served_by(log, "/health/")) - pids, "no replacement worker answered"
            for _ in range(6):
                assert counted() == sent
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 403


@pytest.mark.redis
def test_a_given_metrics_folder_is_emptied_when_gunicorn_starts(transactional_db, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left over from a previous run, not a metrics file")
    token = "scrape-" + uuid.uuid4().hex
    env = {"METRICS_TOKEN": token, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    with running_gunicorn(env, tmp_path / "gunicorn.log", workers=2) as (base, _):
        answer = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert not (folder / "counter_1.db").exists()


class Collector(ThreadingHTTPServer):
    """Stands in for Sentry: keeps every envelope posted to it."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                outer.envelopes.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def events(envelopes: list[bytes]) -> list[dict]:
    found = []
    for envelope in envelopes:
        for line in envelope.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "exception" in item:
                found.append(item)
    return found


@pytest.mark.redis
def test_an_error_reaches_sentry_without_cookies_or_passwords(transactional_db, tmp_path):
    collector = Collector()
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    log = tmp_path / "gunicorn.log"
    env = {
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{collector.server_address[1]}/1",
        "SENTRY_ENVIRONMENT": "staging",
        "SENTRY_RELEASE": "throughline@1.2.3",
        "LOG_FORMAT": "json",
    }
    session_id = "sessionvalue" + uuid.uuid4().hex
    api_token = "tl_" + uuid.uuid4().hex
    request_id = "req-" + uuid.uuid4().hex
    try:
        with running_gunicorn(env, log, workers=1, app="tests.ops_wsgi") as (base, _):
            answer = requests.get(
                f"{base}/test-fails/?password=hunter2-long",
                headers={
                    "Cookie": f"sessionid={session_id}; csrftoken=csrf{session_id}",
                    "Authorization": f"Bearer {api_token}",
                    "X-Request-ID": request_id,
                },
                timeout=10,
            )
            assert answer.status_code == 500
            deadline = time.monotonic() + 30
            while not events(collector.envelopes):
                assert time.monotonic() < deadline, "no event reached the collector"
                time.sleep(0.1)
    finally:
        collector.shutdown()
        collector.server_close()
    (event,) = events(collector.envelopes)
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the view failed on purpose; it was given password=[redacted]"
    assert event["environment"] == "staging"
    assert event["release"] == "throughline@1.2.3"
    assert event["tags"]["request_id"] == request_id
    assert "cookies" not in event["request"]
    assert {k.lower() for k in event["request"].get("headers", {})}.isdisjoint(
        {"cookie", "authorization"}
    )
    assert "user" not in event or "ip_address" not in event["user"]
    sent = b"".join(collector.envelopes).decode()
    for secret in (session_id, api_token, "hunter2-long"):
        assert secret not in sent

    # The same failure in the JSON log: the request's id, and no secret either.
    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    failure = next(r for r in records if r["message"].startswith("Internal Server Error"))
    assert failure["request_id"] == request_id
    assert failure["path"] == "/test-fails/"
    assert "RuntimeError: the view failed on purpose" in failure["exception"]
    assert any('"GET /test-fails/?password=[redacted]' in r["message"] for r in records)
    for secret in (session_id, api_token, "hunter2-long"):
        assert secret not in text


@pytest.mark.celery
def test_the_worker_serves_the_reviews_it_ran_from_every_pool_process(transactional_db, tmp_path):
    from throughline.celery import app

    cycle = f.cycle("fy2027")
    token = "scrape-" + uuid.uuid4().hex
    port = closed_port()
    url = f"http://127.0.0.1:{port}/metrics"
    name = "throughline_review_duration_seconds_count"
    with running_celery_worker(
        broker_url=app.conf.broker_url,
        log_dir=tmp_path,
        pool=("--pool=prefork", "--concurrency=2"),
        env={"CELERY_METRICS_PORT": str(port), "METRICS_TOKEN": token},
    ) as worker:
        assert requests.get(url, timeout=10).status_code == 403
        auth = {"Authorization": f"Bearer {token}"}

        def pool_processes() -> set[str]:
            """The pool processes that have run a review so far, from the worker's log."""
            pattern = r"(ForkPoolWorker-\d+)\] Task planning.tasks.review_cycle\[\S+\] succeeded"
            return set(re.findall(pattern, worker.output()))

        def done() -> float:
            text = requests.get(url, headers=auth, timeout=10).text
            return sample(text, name, trigger="schedule", status="done") or 0

        # Reviews two at a time until both pool processes have run some.
        sent = 0
        deadline = time.monotonic() + 120
        while len(pool_processes()) < 2:
            assert time.monotonic() < deadline, worker.output()
            for _ in range(2):
                review_cycle.delay(cycle.pk, "schedule")
            sent += 2
            while len(re.findall(r"review_cycle\[\S+\] succeeded", worker.output())) < sent:
                assert time.monotonic() < deadline, worker.output()
                time.sleep(0.2)
        # Whichever process ran them, the worker's /metrics counts them all.
        while done() < sent:
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.2)
        assert done() == sent


@pytest.mark.redis
def test_the_compose_health_check_fails_while_redis_is_down(live_server, settings):
    port = live_server.url.rsplit(":", 1)[1]
    env = {**os.environ, "ALLOWED_HOSTS": "localhost,plan.example.com"}
    script = [sys.executable, str(ROOT / "deploy" / "web_health.py"), port]

    assert subprocess.run(script, env=env, capture_output=True, timeout=30).returncode == 0
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{closed_port()}/0"
    down = subprocess.run(script, env=env, capture_output=True, text=True, timeout=30)
    assert down.returncode == 1
    assert "unhealthy: /ready/ answered 503: redis (ConnectionError)" in down.stderr
    assert "hunter2" not in down.stderr
    health_only = subprocess.run(
        [*script, "/health/"], env=env, capture_output=True, text=True, timeout=30
    )
    assert health_only.returncode == 0, health_only.stderr


@pytest.mark.redis
def test_probes_and_scrapes_by_address_over_plain_http_are_answered(transactional_db, settings):
    """In production, people's browsers must name the site and use HTTPS; a probe or a scrape
    from inside the network asks a replica by its address, over plain HTTP."""
    settings.ALLOWED_HOSTS = ["plan.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = "scrape-" + uuid.uuid4().hex
    by_address = Client(HTTP_HOST="10.0.3.7:8000")
    assert by_address.get("/accounts/login/").status_code == 400
    assert Client(HTTP_HOST="plan.example.com").get("/accounts/login/").status_code == 301
    assert by_address.get("/health/").status_code == 200
    assert by_address.get("/ready/").json()["status"] == "ok"
    scrape = by_address.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    assert scrape.status_code == 200
    assert sample(
        scrape.content.decode(),
        "throughline_http_request_duration_seconds_count",
        route="ready",
        method="GET",
        status="2xx",
    )
    assert by_address.get("/metrics").status_code == 403
    assert by_address.post("/health/").status_code == 405


@pytest.mark.celery
def test_a_failing_task_reaches_sentry_from_the_worker(transactional_db, tmp_path):
    from throughline.celery import app

    cycle = f.cycle("fy2027")
    collector = Collector()
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    env = {
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{collector.server_address[1]}/1",
        "SENTRY_ENVIRONMENT": "staging",
    }
    try:
        with running_celery_worker(
            broker_url=app.conf.broker_url, log_dir=tmp_path, env=env
        ) as worker:
            # A date the review cannot read: the task fails in the worker.
            review_cycle.delay(cycle.pk, "schedule", "password=hunter2-long")
            deadline = time.monotonic() + 60
            while not events(collector.envelopes):
                assert time.monotonic() < deadline, worker.output()
                time.sleep(0.2)
    finally:
        collector.shutdown()
        collector.server_close()
    (event,) = events(collector.envelopes)
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert event["environment"] == "staging"
    assert event["transaction"] == "planning.tasks.review_cycle"
    assert "hunter2-long" not in b"".join(collector.envelopes).decode()
