"""Shared test setup: the service markers, a real Celery worker process, and the named people
and the small planning world most tests are told in (built with tests/factories.py).

Tests marked `postgres`, `redis` or `celery` need those servers, and tests marked `browser`
need Chromium, Playwright and axe-core. Without them they are skipped with the reason
(`make test` points DATABASE_URL and REDIS_URL at local servers when they answer, and installs
axe-core with npm); with CI=true they fail instead, so a green CI run never hides a skipped
test.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
import requests
from django.conf import settings
from django.utils import timezone

from dependencies.models import Dependency
from tests import factories as f

ROOT = Path(__file__).resolve().parent.parent
WORKER_READY_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 20.0


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


@cache
def postgres_missing() -> str | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return "needs PostgreSQL: set DATABASE_URL (make test does when 127.0.0.1:5432 answers)"
    return None


@cache
def redis_missing() -> str | None:
    if not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL (make test does when 127.0.0.1:6379 answers)"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"needs Redis, but REDIS_URL does not answer: {exc}"
    return None


def celery_missing() -> str | None:
    # The worker is another process: broker and database must be servers both can reach.
    missing = postgres_missing() or redis_missing()
    return f"a real Celery worker {missing}" if missing else None


# Debian's chromium package; `playwright install` downloads a browser build of its own instead.
CHROMIUM = Path(os.environ.get("THROUGHLINE_CHROMIUM", "/usr/bin/chromium"))
AXE_CORE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@cache
def browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package: run `make test` (or scripts/venv) to install it"
    if not os.access(CHROMIUM, os.X_OK):
        return f"needs Chromium at {CHROMIUM}: apt-get install chromium"
    if not AXE_CORE.is_file():
        return "needs axe-core in node_modules: install npm, then run `make test` (or `npm ci`)"
    return None


REQUIREMENTS: dict[str, Callable[[], str | None]] = {
    "postgres": postgres_missing,
    "redis": redis_missing,
    "celery": celery_missing,
    "browser": browser_missing,
}


def _missing_for(item: pytest.Item) -> str | None:
    for marker, missing in REQUIREMENTS.items():
        if item.get_closest_marker(marker) is not None and (reason := missing()):
            return reason
    return None


def _fail_on_ci(reason: str) -> None:
    pytest.fail(f"CI=true, so this is a failure, not a skip: {reason}", pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--permissions-table",
        action="store_true",
        help="print the permission table the code implements (tests/test_permissions.py)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if on_ci():
        return
    for item in items:
        if reason := _missing_for(item):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if on_ci() and (reason := _missing_for(item)):
        _fail_on_ci(reason)


@dataclass
class CeleryWorker:
    """A `celery worker` subprocess consuming its own queue."""

    queue: str
    hostname: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _test_database_url() -> str:
    """DATABASE_URL with its database swapped for the test database pytest-django made."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise RuntimeError("celery_worker_process needs PostgreSQL (DATABASE_URL)")
    url = urlsplit(settings.DATABASE_URL)
    return urlunsplit(url._replace(path="/" + quote(connection.settings_dict["NAME"], safe="")))


def _wait_until_ready(worker: CeleryWorker) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        # Celery logs "<hostname> ready." once it consumes from its queue.
        if " ready." in worker.output():
            return
        if worker.process.poll() is not None:
            pytest.fail(
                f"celery worker exited with {worker.process.returncode} before it was ready:\n"
                + worker.output()
            )
        time.sleep(0.2)
    pytest.fail(f"celery worker not ready after {WORKER_READY_TIMEOUT:.0f}s:\n{worker.output()}")


def _stop(worker: CeleryWorker) -> None:
    if worker.process.poll() is None:
        # TERM is Celery's warm shutdown: finish the task at hand, then exit.
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            worker.process.wait(WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait()


def _delete_queue(broker_url: str, queue: str) -> None:
    client = redis.Redis.from_url(broker_url)
    try:
        keys = [
            *client.scan_iter(match=f"{queue}*"),
            f"_kombu.binding.{queue}",
            f"_kombu.binding_permanent.{queue}",
        ]
        client.delete(*keys)
    finally:
        client.close()


@contextmanager
def running_celery_worker(
    *,
    broker_url: str,
    log_dir: Path,
    pool: tuple[str, ...] = ("--pool=solo",),
    env: dict[str, str] | None = None,
) -> Iterator[CeleryWorker]:
    """A real `celery -A throughline worker` on `broker_url` and the test database, consuming a
    queue of its own; while it runs, `.delay()` in this process sends tasks to that queue.
    `pool` chooses its pool (one process by default), `env` adds to its environment.

    It needs committed data (the worker is another process): use it with transactional_db.
    """
    reason = celery_missing()
    if reason is not None:
        if on_ci():
            _fail_on_ci(reason)
        pytest.skip(reason)

    from throughline.celery import app

    queue = f"throughline-test-{uuid.uuid4().hex[:12]}"
    hostname = f"{queue}@%h"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": queue,
        **(env or {}),
    }
    log = log_dir / f"celery-worker-{queue}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "throughline",
                "worker",
                *pool,
                f"--queues={queue}",
                f"--hostname={hostname}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = CeleryWorker(queue=queue, hostname=hostname, process=process, log=log)
    previous_queue = app.conf.task_default_queue
    try:
        _wait_until_ready(worker)
        app.conf.task_default_queue = queue
        yield worker
    finally:
        app.conf.task_default_queue = previous_queue
        _stop(worker)
        _delete_queue(broker_url, queue)
        # Shown by pytest when the test fails.
        print(f"--- celery worker log ({log}) ---\n{worker.output()}")


@contextmanager
def running_gunicorn(
    env: dict[str, str], log: Path, *, workers: int = 1, app: str = "throughline.wsgi"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`gunicorn -c python:throughline.gunicorn` as the image runs it, on a port of its own and
    the test database, serving `app` (a module with `application`); yields its base URL and
    process. The access log (in `log`, with everything gunicorn prints) names the worker
    process that answered each request: `pid=<1234> "GET /path HTTP/1.1" 200`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    full_env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    full_env.update(
        {
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "ALLOWED_HOSTS": "127.0.0.1",
            **env,
        }
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:throughline.gunicorn",
                f"{app}:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--graceful-timeout",
                "10",
                "--access-logformat",
                'pid=%(p)s "%(r)s" %(s)s',
            ],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # /ready/: tests count the requests for /health/.
                requests.get(f"{base}/ready/", timeout=10)
                break
            except requests.ConnectionError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60s"
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def celery_worker_process(transactional_db: None, tmp_path: Path) -> Iterator[CeleryWorker]:
    """A real `celery -A throughline worker` on Redis and the test database (see above)."""
    from throughline.celery import app

    with running_celery_worker(broker_url=app.conf.broker_url, log_dir=tmp_path) as worker:
        yield worker


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Hash passwords with MD5 in tests: the demo alone sets nine, PBKDF2 makes that slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def own_write_rate_limit_counters(settings) -> None:
    """Each test counts its writes afresh: the cache outlives a test, and user ids repeat
    between tests on SQLite, so one test's writes would otherwise count against the next."""
    settings.WRITE_RATE_LIMIT_KEY_PREFIX = f"test-{uuid.uuid4().hex}:writes"


# ---------------------------------------------------------------------------------------
# Named people and a small planning world: cycle fy2027; Alice's squad "first-90-days" needs
# something from Dora's squad "product-led". A module that needs another shape builds on these
# or gives its own fixture a name that says how it differs.
# ---------------------------------------------------------------------------------------


@pytest.fixture
def cycle(db):
    return f.cycle("fy2027")


@pytest.fixture
def alice(db):
    """The needing squad's DRI."""
    return f.person("alice", "Alice Archer", function="Customer Success")


@pytest.fixture
def bob(db):
    """A member of the needing squad."""
    return f.person("bob", "Bob Baker", function="Product")


@pytest.fixture
def carol(db):
    """An outsider: in no squad of this world."""
    return f.person("carol", "Carol Cruz", function="Marketing")


@pytest.fixture
def dora(db):
    """The providing squad's DRI."""
    return f.person("dora", "Dora Diaz", function="Product")


@pytest.fixture
def pete(db):
    """A member of the providing squad."""
    return f.person("pete", "Pete Park", function="Product")


@pytest.fixture
def olga(db):
    """Operations: runs the planning process, in no squad."""
    return f.in_group(f.person("olga", "Olga Ortiz", function="Operations"), "Operations")


@pytest.fixture
def leo(db):
    """Leadership, in no squad."""
    return f.in_group(f.person("leo", "Leo Lang", function="Leadership"), "Leadership")


@pytest.fixture
def needing(cycle, alice, bob):
    """Alice's squad "first-90-days", with Bob."""
    made = f.squad("first-90-days", dri=alice, cycle=cycle, function="Customer Success")
    f.member(made, bob, function="Product")
    return made


@pytest.fixture
def providing(cycle, dora, pete):
    """Dora's squad "product-led", with Pete."""
    made = f.squad("product-led", dri=dora, cycle=cycle, name="Product-led Growth")
    f.member(made, pete, function="Product")
    return made


@pytest.fixture
def stage(db):
    """Onboarding, a stage of the customer lifecycle journey."""
    return f.stage("lifecycle", "onboarding", name="Onboarding")


@pytest.fixture
def wizard(needing, stage):
    """The needing squad's initiative, at the onboarding stage."""
    return f.initiative(needing, "wizard", title="In-app onboarding wizard", stage=stage)


@pytest.fixture
def assessment(providing):
    """The providing squad's initiative."""
    return f.initiative(providing, "assessment", title="Assessment tool")


@pytest.fixture
def dep(wizard, providing, dora):
    """The wizard needs feature messaging from the providing squad: blocking, due in 30 days,
    owned by Dora."""
    return Dependency.objects.create(
        key="messaging",
        from_initiative=wizard,
        to_squad=providing,
        what="Feature messaging for the wizard",
        due=timezone.localdate() + dt.timedelta(days=30),
        blocking=True,
        owner=dora,
        note="Campaign cannot launch without it.",
    )


@pytest.fixture
def rebinding_host(monkeypatch):
    """A host name whose first lookup answers a public address and every later one this
    machine (127.0.0.1): the DNS rebinding a hostile name server can do to pass a check made
    before connecting. Returns the name; every other name resolves as usual."""
    name = "rebind.example"
    real = socket.getaddrinfo
    looked_up = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        address = "93.184.215.14" if len(looked_up) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return name


@dataclass
class Trickle:
    """A server on this machine that answers "200 OK" at once, then one header line every
    `every` seconds, `lines` of them, before it would end the head: an answer that never
    times out a single read yet would hold its reader for lines × every seconds."""

    url: str
    finished: bool = False  # it sent every line: nobody cut it off
    cut_off: bool = False  # the reader closed the connection before the end

    def outcome(self) -> str:
        """ "cut off" or "finished", once the server knows which (it learns of a cut at its
        next line)."""
        for _ in range(300):
            if self.cut_off or self.finished:
                break
            time.sleep(0.1)
        return "cut off" if self.cut_off else "finished" if self.finished else "still sending"


@pytest.fixture
def trickling_server() -> Iterator[Trickle]:
    import socketserver

    trickle: Trickle

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            try:
                self.request.sendall(b"HTTP/1.1 200 OK\r\n")
                for n in range(60):
                    time.sleep(0.25)
                    self.request.sendall(f"X-Slow-{n}: still coming\r\n".encode())
                self.request.sendall(b"Content-Length: 0\r\n\r\n")
                trickle.finished = True
            except OSError:
                trickle.cut_off = True

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    trickle = Trickle(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield trickle
    server.shutdown()
    server.server_close()
