"""Benchmark the web app under load: `make bench`.

    .venv/bin/python scripts/bench.py                    # 200 squads, 1,000 people,
                                                         # 5,000 initiatives, 20,000 deps,
                                                         # then the growth table
    .venv/bin/python scripts/bench.py --scale 0.1 --duration 5 --no-doc    # a quick look
    .venv/bin/python scripts/bench.py --scenarios none --growth 0.25,1,4   # growth alone

Creates a throwaway PostgreSQL database beside the one DATABASE_URL names
(`<name>_loadbench`; default postgres://postgres@127.0.0.1:5432/throughline), migrates it,
fills it with one organisation (the review benchmark's generator, scripts/bench_review.py) and
reviews it once, then starts two gunicorn servers side by side with production settings
(DEBUG=0, Redis database 13 for the cache and the broker, the write rate limit raised) on free
loopback ports, one with the page cache and one with PAGE_CACHE=0, and drives them with
locust, headless, with sessions signed in through /accounts/login/. One scenario at a time,
each for --duration seconds: each server's bare view that renders a tiny template (its
ceiling, measured first and last); the plan page, the board's first page, the board filtered
by providing and by needing squad, /squads/, /findings/, the graph and the timeline, each on
one server and then the other; a no-change live poll and a plan section saved by 20
concurrent writers (as fast as they can, then paced at one save a second each) on the cached
server. Then, with --growth (by default at the default size), the growth table: each scale of
the organisation made in turn and its pages measured with PAGE_CACHE=0. Prints throughput and
p50/p95/p99 latency, each page's throughput as a share of its own server's bare view, whether
the goals hold, and writes all of it with the machine's description into docs/performance.md
("Web app under load", and the growth table between its own markers). Drops the databases,
and empties its Redis database, at the end.

One script of about 1,250 lines on purpose: making the data, serving it, loading it and
writing docs/performance.md are one run, and each figure's command is in this file.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import datetime as dt
import html
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

import bench_review  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
DOC_HEADING = "## Web app under load"
DOC_START = "<!-- bench:start (written by scripts/bench.py) -->"
DOC_END = "<!-- bench:end -->"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
PASSWORD = "bench-password-not-secret"
SECTIONS = ["current-experience", "desired-experience", "success-metrics"]
WRITER_SQUADS = 5  # the 20 writers co-write five plans, four people on each

# name, label in the table, locust request name, users ("readers" or "writers"), pace
SCENARIOS = [
    ("bare", "bare view (ceiling)", "bare view", "readers", 0),
    ("plan", "plan page", "plan page", "readers", 0),
    ("board", "board, first page", "board, first page", "readers", 0),
    ("board_filtered", "board, by providing squad", "board, filtered", "readers", 0),
    ("board_needing", "board, by needing squad", "board, by needing squad", "readers", 0),
    ("squads", "/squads/", "squads", "readers", 0),
    ("findings", "/findings/", "findings", "readers", 0),
    ("graph", "/board/graph/", "graph", "readers", 0),
    ("timeline", "/timeline/", "timeline", "readers", 0),
    ("poll", "no-change poll", "no-change poll", "readers", 0),
    ("save", "section save, 20 writers flat out", "section save", "writers", 0),
    ("save_paced", "section save, 20 writers at 1/s each", "section save", "writers", 1),
]
# Pages measured twice, on the server with the page cache and on the one with PAGE_CACHE=0;
# the poll and the saves only with the cache, as production runs.
PAGES = (
    "plan",
    "board",
    "board_filtered",
    "board_needing",
    "squads",
    "findings",
    "graph",
    "timeline",
)
# Today's budgets with the page cache on, and the goals for a page drawn afresh.
BUDGET_SHARES = {"poll": 0.40, "plan": 0.15, "board": 0.10}
BUDGET_SAVE_P95_MS = 150
GOAL_UNCACHED_SHARES = {
    "plan": 0.10,
    "board": 0.10,
    "board_filtered": 0.10,
    "board_needing": 0.10,
    "squads": 0.10,
    "findings": 0.10,
    "graph": 0.05,
    "timeline": 0.05,
}
# A share counts as roughly constant when the largest organisation keeps at least this part
# of the smallest one's.
GROWTH_KEEPS = 0.5
DEFAULT_GROWTH = "0.25,1,4"
GROWTH_START = "<!-- bench-growth:start (written by scripts/bench.py --growth) -->"
GROWTH_END = "<!-- bench-growth:end -->"
# Page filters, plan pages and the like are spread over this many squads.
SPREAD = 50
LIVE_RE = re.compile(r'id="plan-live"[^>]*data-live-url="([^"]+)" data-etag="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the organisation --------------------------------------------------------------------


def generate(args: argparse.Namespace) -> dict:
    """The organisation `args` asks for, every squad's plan written, reviewed once."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from squads.models import Plan, Squad

    made = bench_review.generate(
        args.initiatives,
        args.dependencies,
        args.seed,
        squads=args.squads,
        people=args.people,
        password=make_password(PASSWORD),
    )
    # Every squad has written its plan: the page shows text, and saves have a row to swap.
    Plan.objects.bulk_create(
        (
            Plan(
                squad=squad,
                current_experience=(
                    f"Customers of {squad.name} wait days for a first result. "
                    "Week 1: they set up alone. Month 1: half of them stop."
                ),
                desired_experience=(
                    "Day 1: the customer signs up and sees value in minutes. "
                    "Week 2: their team works in the product every day."
                ),
                success_metrics="Activation within a day; weekly active teams.",
                not_doing=["A second onboarding track", "Custom contracts"],
            )
            for squad in Squad.objects.all()
        ),
        batch_size=2000,
    )
    # The review has run once, as the worker runs it every quarter of an hour, so /findings/
    # lists what a real cycle of this size would. Judged by shared words (OVERLAP_SEMANTIC=0
    # in this process): the sentence model would embed every text first, minutes at 20,000.
    from core.models import Cycle
    from planning.services import review_run

    started = time.perf_counter()
    review_run(cycle=Cycle.objects.get(key="bench"), today=bench_review.TODAY, trigger="bench")
    made["review_s"] = round(time.perf_counter() - started, 2)
    with connection.cursor() as cursor:
        # What autovacuum would have done on a live database.
        cursor.execute("VACUUM ANALYZE")
    return made


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(
    args: argparse.Namespace, database_url: str, workdir: Path, *, page_cache: bool = True
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "STATIC_ROOT": str(workdir / "static"),
            "THROUGHLINE_VAR_DIR": str(workdir / "var"),
            # The benchmark's writers save far more often than people do: the limit is
            # raised (not switched off, so its counting is still measured) on this server only.
            "WRITE_RATE_LIMIT": "1000000",
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PYTHONPATH": os.pathsep.join([str(SCRIPTS), str(ROOT)]),
            "LOG_LEVEL": "WARNING",
            # The second server draws every page afresh: the first view after a change.
            "PAGE_CACHE": "1" if page_cache else "0",
        }
    )
    return env


def collect_static(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def start_server(args: argparse.Namespace, env: dict[str, str], workdir: Path, tag: str):
    """gunicorn on a free loopback port (--port for the first); its access log is
    `access-<tag>.log` in workdir."""
    port = (args.port if tag == "cached" else 0) or free_port()
    logfile = open(workdir / f"gunicorn-{tag}.log", "wb")  # noqa: SIM115 (closed with the server)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "throughline.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
            # Each request's own time in the worker (microseconds), read back per scenario
            # as the server's side of the latency (run_scenario).
            "--access-logfile",
            str(workdir / f"access-{tag}.log"),
            "--access-logformat",
            "%(m)s %(s)s %(D)s",
        ],
        cwd=ROOT,
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            status, _ = http(base, "/bench/bare/")
            if status == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            sys.exit(f"gunicorn did not start:\n{(workdir / f'gunicorn-{tag}.log').read_text()}")
        time.sleep(0.3)
    return server, base, port


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- talking to it -----------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(
    base: str, path: str, *, cookies: dict | None = None, data: dict | None = None, **headers
) -> tuple[int, dict]:
    """One request as from behind the TLS proxy; returns the status and, in a dict, the body
    ("body"), the cookies set ("cookies") and the headers ("headers")."""
    all_headers = {"X-Forwarded-Proto": "https", **headers}
    if cookies:
        all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(base + path, data=body, headers=all_headers)
    try:
        response = OPENER.open(request, timeout=120)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        text = response.read().decode("utf-8", "replace")
        set_cookies = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            set_cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, {"body": text, "cookies": set_cookies, "headers": response.headers}


def sign_in(base: str, host: str, username: str) -> dict:
    """Sign in through the login page, with its CSRF token, as a browser does."""
    status, page = http(base, "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page["body"])
    if status != 200 or not token or "csrftoken" not in page["cookies"]:
        sys.exit(f"the login page answered {status} without a CSRF token")
    csrf = page["cookies"]["csrftoken"]
    status, done = http(
        base,
        "/accounts/login/",
        cookies={"csrftoken": csrf},
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
        Referer=f"https://{host}/accounts/login/",
    )
    if status != 302 or "sessionid" not in done["cookies"]:
        sys.exit(f"signing in as {username} answered {status}")
    return {
        "username": username,
        "sessionid": done["cookies"]["sessionid"],
        "csrftoken": done["cookies"].get("csrftoken", csrf),
    }


def prepare_sessions(
    args: argparse.Namespace, base: str, host: str, *, writers: bool = True
) -> dict:
    """Sign the readers and (when `writers`) the writers in; find each reader's poll URL and
    each writer's section version, as their pages give them."""
    from squads.models import Membership, Squad

    squads = list(Squad.objects.order_by("id").values_list("key", "dri__username"))
    readers_at = [squads[i * len(squads) // args.users] for i in range(args.users)]
    writers_at: list[tuple[str, str, str]] = []  # squad key, username, section
    step = max(1, len(squads) // WRITER_SQUADS)
    for key, _dri in squads[::step]:
        members = list(
            Membership.objects.filter(squad__key=key)
            .order_by("person_id")
            .values_list("person__username", flat=True)
            .distinct()
        )
        if len(members) < 4:
            continue
        for n, username in enumerate(members[:4]):
            writers_at.append((key, username, SECTIONS[n % len(SECTIONS)]))
        if len(writers_at) >= args.writers:
            break
    writers_at = writers_at[: args.writers] if writers else []

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        readers = list(pool.map(lambda at: sign_in(base, host, at[1]), readers_at))
        signed_writers = list(pool.map(lambda at: sign_in(base, host, at[1]), writers_at))

    for session, (key, _username) in zip(readers, readers_at, strict=True):
        cookies = {"sessionid": session["sessionid"], "csrftoken": session["csrftoken"]}
        status, page = http(base, f"/squads/{key}/plan/", cookies=cookies)
        live = LIVE_RE.search(page["body"])
        if status != 200 or not live:
            sys.exit(f"the plan page of {key} answered {status} without #plan-live")
        url, etag = html.unescape(live.group(1)), html.unescape(live.group(2))
        # The page's stamp holds only the revision: the first poll answers with the whole
        # stamp (and a fresh token), as the page's script sees it.
        status, first = http(base, f"{url}&{urlencode({'since': etag})}", cookies=cookies)
        answer = json.loads(first["body"]) if status == 200 else {}
        if "etag" not in answer:
            sys.exit(f"the first poll of {key} answered {status}")
        query = urlencode({"t": answer["token"], "since": answer["etag"]})
        poll = f"/squads/{key}/plan/live/?{query}"
        status, _ = http(base, poll, cookies=cookies)
        if status != 204:
            sys.exit(f"a no-change poll of {key} answered {status}, not 204")
        session.update(squad=key, poll=poll)

    for session, (key, _username, section) in zip(signed_writers, writers_at, strict=True):
        cookies = {"sessionid": session["sessionid"], "csrftoken": session["csrftoken"]}
        status, form = http(
            base,
            f"/squads/{key}/plan/section/{section}/edit/",
            cookies=cookies,
            **{"HX-Request": "true"},
        )
        version = re.search(r'name="version" value="(\d+)"', form["body"])
        if status != 200 or not version:
            sys.exit(f"the edit form of {key}/{section} answered {status} without a version")
        session.update(squad=key, section=section, version=int(version.group(1)))

    # Readers ask for pages of many squads, not only their own: on the cached server, too,
    # most of the organisation's pages are in play.
    spread = squads[:: max(1, len(squads) // SPREAD)]
    filtered = [f"/board/?{urlencode({'to': key, 'status': 'open'})}" for key, _ in spread]
    needing = [f"/board/?{urlencode({'from': key, 'status': 'open'})}" for key, _ in spread]
    plans = [f"/squads/{key}/plan/" for key, _ in spread]
    return {
        "host": host,
        "readers": readers,
        "writers": signed_writers,
        "filtered_boards": filtered,
        "needing_boards": needing,
        "plans": plans,
    }


# --- measuring ---------------------------------------------------------------------------


def run_scenario(
    args: argparse.Namespace,
    server: dict,
    data_file: Path,
    workdir: Path,
    scenario: tuple,
    duration: int,
) -> dict:
    """One scenario against one server (`server`: its base URL, tag and whether it caches
    pages) for `duration` seconds."""
    name, label, request_name, who, pace = scenario
    users = args.writers if who == "writers" else args.users
    base = server["base"]
    prefix = workdir / f"locust-{name}-{server['tag']}"
    env = {
        **os.environ,
        "BENCH_SCENARIO": "save" if name.startswith("save") else name.removesuffix("_again"),
        "BENCH_DATA": str(data_file),
        "BENCH_PACE": str(pace),
    }
    access_log = workdir / f"access-{server['tag']}.log"
    began = time.monotonic()
    log_start = access_log.stat().st_size if access_log.exists() else 0
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(SCRIPTS / "bench_locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{duration}s",
            "--host",
            base,
            "--csv",
            str(prefix),
            # Statistics start once every user runs: the first second is the warm-up.
            "--reset-stats",
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = {}
    stats = Path(f"{prefix}_stats.csv")
    if stats.exists():
        with stats.open(newline="") as f:
            rows = {row["Name"]: row for row in csv.DictReader(f)}
    row = rows.get(request_name)
    if row is None and "Aggregated" not in rows:
        sys.exit(f"locust ran no {request_name!r} requests:\n{done.stdout}\n{done.stderr}")
    if row is None:
        # Locust ran, but no answer came within the run: a page slower than the run is long.
        row = {"Request Count": 0, "Failure Count": 0, "Requests/s": 0}
    failures = Path(f"{prefix}_failures.csv")
    failure_text = ""
    if failures.exists():
        with failures.open(newline="") as f:
            failure_text = "; ".join(f"{r['Occurrences']}x {r['Error']}" for r in csv.DictReader(f))
    conflicts = rows.get("conflict view")
    slowest = float(row["99%"]) / 1000 if "99%" in row else duration
    ran = time.monotonic() - began
    settle(access_log, quiet=max(2.0, 1.5 * slowest))
    log(
        f"    locust {ran:.0f} s, then {time.monotonic() - began - ran:.0f} s until the "
        "server was idle"
    )
    spent = server_times(access_log, log_start, "POST" if name.startswith("save") else "GET")
    return {
        "name": name,
        "cached": server["cached"],
        "label": label.replace("20 writers", f"{users} writers"),
        "users": users,
        "pace": pace,
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "failure_text": failure_text,
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]) if "50%" in row else None,
        "p95": float(row["95%"]) if "95%" in row else None,
        "p99": float(row["99%"]) if "99%" in row else None,
        "conflicts": int(conflicts["Request Count"]) if conflicts else 0,
        "server_p50": _percentile(spent, 0.50),
        "server_p95": _percentile(spent, 0.95),
    }


def settle(access_log: Path, quiet: float = 2.0, longest: float = 180.0) -> None:
    """Wait until the requests locust left in flight have been answered (the access log has
    not grown for `quiet` seconds), so that a slow page's last requests do not run into the
    next scenario."""
    deadline = time.monotonic() + longest
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = access_log.stat().st_size if access_log.exists() else 0
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


def server_times(access_log: Path, start: int, method: str) -> list[float]:
    """Milliseconds each of the scenario's requests spent in a gunicorn worker, from the
    access log written since `start`: the server's side of the latency, without time in
    the listen queue or in the load generator."""
    if not access_log.exists():
        return []
    with access_log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode("utf-8", "replace").splitlines()
    times = []
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == method and parts[2].isdigit():
            times.append(int(parts[2]) / 1000)
    return sorted(times)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def warm_up(base: str, data: dict, *, cached: bool) -> None:
    """A few requests to each page first, so that every worker has loaded its code; on the
    cached server, every plan and filtered board the readers ask for once as well, so that its
    figures are those of a warm cache (the other server's are the misses)."""
    reader = data["readers"][0]
    cookies = {"sessionid": reader["sessionid"], "csrftoken": reader["csrftoken"]}
    paths = [
        "/bench/bare/",
        "/board/",
        data["filtered_boards"][0],
        data["needing_boards"][0],
        "/board/graph/",
        "/squads/",
        "/findings/",
        "/timeline/",
        f"/squads/{reader['squad']}/plan/",
    ]
    every = [*data["plans"], *data["filtered_boards"], *data["needing_boards"]] if cached else []
    for path in [*paths, *paths, *paths, *every]:
        status, _ = http(base, path, cookies=cookies)
        if status != 200:
            sys.exit(f"{path} answered {status} before the run")


# --- EXPLAIN -------------------------------------------------------------------------------


def explain_board(filtered_path: str) -> list[tuple[str, str, str]]:
    """EXPLAIN ANALYZE of the board's two main queries under each filter it offers, built as
    the view builds them (dependencies.presenters.board_context, grouped by provider): the
    counts by provider, which give the summary, the pages and each group's counts; and the
    first page of ids, read from the groups it falls in. The squads' filters are on the
    needing and providing squad stored on each dependency."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from core.models import Cycle
    from dependencies import selectors
    from dependencies.models import BoardFilters, Dependency
    from squads.models import Squad

    params = dict(p.split("=", 1) for p in filtered_path.split("?", 1)[1].split("&"))
    today = timezone.localdate()
    cycle = Cycle.objects.get(key="bench")
    squad = Squad.objects.get(key=params["to"])
    cases = [
        (
            f"its providing squad (`?to={squad.key}&status=open`)",
            {"provider_squad_id": squad.pk, "status": "open"},
        ),
        (f"its needing squad (`?from={squad.key}`)", {"needer_squad_id": squad.pk}),
        ("a status (`?status=at_risk`)", {"status": "at_risk"}),
        ("overdue (`?overdue=on`)", {"overdue": True}),
        ("due within 14 days (`?within=14`)", {"within_days": 14}),
    ]
    out = []
    for label, values in cases:
        filters = BoardFilters(today=today, cycle_id=cycle.pk, **values)
        base = Dependency.objects.filtered(filters)
        with CaptureQueriesContext(connection) as captured:
            pages = selectors.ProviderPages(base, selectors.provider_groups(base, today))
            pages[0:50]
        titles = [
            f"the counts by provider, filtered by {label}",
            f"the first page of ids, filtered by {label}",
        ]
        for title, query in zip(titles, captured.captured_queries, strict=False):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + query["sql"])
                plan = "\n".join(r[0] for r in cursor.fetchall())
            out.append((title, query["sql"], plan))
    return out


# --- describing the machine and writing the doc -------------------------------------------


def _workers(workers: int, threads: int) -> str:
    if threads > 1:
        return f"{workers} gthread workers × {threads} threads"
    return f"{workers} sync workers"


def machine(workers: int, threads: int = 1) -> dict:
    from importlib.metadata import version

    import django
    from django.db import connection

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    return {
        "cpu": f"{os.cpu_count()} CPUs ({cpu})",
        "ram": ram,
        "software": (
            f"Python {platform.python_version()}, PostgreSQL {postgres} and Redis on the "
            f"same machine, Django {django.get_version()}, gunicorn {version('gunicorn')} "
            f"({_workers(workers, threads)}), locust {version('locust')} (one process, on the "
            "same machine)"
        ),
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if Path("/proc/loadavg").exists()
        else "",
    }


def _ms(value: float | None) -> str:
    """A latency in ms; None when no request was answered within the run."""
    return "none answered" if value is None else f"{value:.0f}"


def share(result: dict, ceilings: dict[bool, float]) -> float:
    """A result's throughput as a share of its own server's bare view."""
    ceiling = ceilings.get(result["cached"], 0.0)
    return result["rps"] / ceiling if ceiling else 0.0


def ceilings_of(results: list[dict]) -> dict[bool, float]:
    """Each server's ceiling: the mean of its bare view's runs, first and last (leaving out
    a run that answered nothing, which only a machine too busy to start it gives)."""
    out = {}
    for cached in (True, False):
        bares = [
            r["rps"]
            for r in results
            if r["name"] == "bare" and r["cached"] == cached and r["requests"]
        ]
        if bares:
            out[cached] = sum(bares) / len(bares)
    return out


def _by_key(results: list[dict]) -> dict[tuple[str, bool], dict]:
    return {(r["name"], r["cached"]): r for r in results if r["name"] != "bare"}


def verdicts(results: list[dict], ceilings: dict[bool, float]) -> list[str]:
    by_key = _by_key(results)
    lines = []
    for name, minimum in GOAL_UNCACHED_SHARES.items():
        r = by_key.get((name, False))
        if r is None:
            continue
        got = round(share(r, ceilings), 3)  # judged as printed, to a tenth of a percent
        state = "holds" if got >= minimum else "**does not hold**"
        lines.append(
            f"{r['label']}, `PAGE_CACHE=0`, >= {minimum:.0%} of the bare view: {state} ({got:.1%})"
        )
    for name, minimum in BUDGET_SHARES.items():
        r = by_key.get((name, True))
        if r is None:
            continue
        got = round(share(r, ceilings), 3)
        state = "holds" if got >= minimum else "**does not hold**"
        lines.append(
            f"{r['label']}, page cache on, >= {minimum:.0%} of the bare view: {state} ({got:.1%})"
        )
    for name in ("save", "save_paced"):
        r = by_key.get((name, True))
        if r is not None:
            held = r["p95"] is not None and r["p95"] <= BUDGET_SAVE_P95_MS
            state = "holds" if held else "**does not hold**"
            lines.append(
                f"{r['label']}: p95 <= {BUDGET_SAVE_P95_MS} ms {state} ({_ms(r['p95'])} ms)"
            )
    return lines


def table(results: list[dict], ceilings: dict[bool, float]) -> list[str]:
    lines = [
        "| scenario | page cache | users | requests | req/s | share of its bare view | p50 ms "
        "| p95 ms | p99 ms | server p50 / p95 ms | failed | conflict views |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        server = (
            f"{r['server_p50']:.0f} / {r['server_p95']:.0f}"
            if r.get("server_p50") is not None
            else ""
        )
        lines.append(
            f"| {r['label']} | {'on' if r['cached'] else 'off'} | {r['users']} | "
            f"{r['requests']:,} | {r['rps']:.1f} | {share(r, ceilings):.1%} | {_ms(r['p50'])} | "
            f"{_ms(r['p95'])} | {_ms(r['p99'])} | {server} | {r['failures']} | "
            f"{r['conflicts'] if r['name'].startswith('save') else ''} |"
        )
    return lines


def side_by_side(results: list[dict], ceilings: dict[bool, float]) -> list[str]:
    """Each page with the cache and drawn afresh, beside the goal for the latter."""
    by_key = _by_key(results)
    lines = [
        "| page | cached: share | cached: p95 ms | `PAGE_CACHE=0`: share | `PAGE_CACHE=0`: p95 ms "
        "| goal without the cache |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in PAGES:
        on, off = by_key.get((name, True)), by_key.get((name, False))
        if on is None and off is None:
            continue
        label = (on or off)["label"]
        cells = []
        for r in (on, off):
            cells += [f"{share(r, ceilings):.1%}", f"{_ms(r['p95'])}"] if r else ["", ""]
        lines.append(f"| {label} | {' | '.join(cells)} | >= {GOAL_UNCACHED_SHARES[name]:.0%} |")
    return lines


def _organisation(made: dict) -> str:
    return (
        f"{made['squads']:,} squads, {made['people']:,} people, {made['initiatives']:,} "
        f"initiatives, {made['dependencies']:,} dependencies"
    )


def report(args, run: dict, command: str, minutes: float) -> str:
    made, about, results, ceilings = run["made"], run["about"], run["results"], run["ceilings"]
    bare_runs = {
        cached: " and ".join(
            f"{r['rps']:.0f}" for r in results if r["name"] == "bare" and r["cached"] == cached
        )
        for cached in ceilings
    }
    servers = " and ".join(
        f"{'with the page cache' if cached else 'with `PAGE_CACHE=0`'} {bare_runs[cached]} "
        f"req/s, so {ceiling:.0f}"
        for cached, ceiling in ceilings.items()
    )
    lines = [
        f"Measured on {dt.datetime.now().astimezone():%d %b %Y} with `{command}` "
        f"(the whole run, growth included, took {minutes:.0f} min).",
        "",
        f"- Machine: {about['cpu']}, {about['ram']}; {about['software']}. Load average "
        f"{about['load']} when the run started.",
        f"- Organisation: {_organisation(made)} (generated in {made['generate_s']:.0f} s, "
        f"reviewed once in {made.get('review_s', 0):.0f} s).",
        f"- Two servers side by side on the same database and Redis, one with the page cache "
        f"and one with `PAGE_CACHE=0`; each scenario ran for {args.duration} s, one after "
        f"another, each page on one server and then the other; readers: {args.users} "
        f"signed-in sessions asking back to back, over the pages of {SPREAD} squads; writers: "
        f"{args.writers} signed-in members co-writing {WRITER_SQUADS} plans (four on each, "
        "two of them on the same section).",
        f"- Each share is of its own server's bare view, the mean of its two runs, first and "
        f"last: {servers} req/s.",
        "",
        *side_by_side(results, ceilings),
        "",
        *table(results, ceilings),
        "",
        "Goals and budgets:",
        "",
        *[f"- {line}" for line in verdicts(results, ceilings)],
    ]
    failed = [r for r in results if r["failure_text"]]
    if failed:
        lines += ["", "Failed requests:", ""]
        lines += [f"- {r['label']}: {r['failure_text']}" for r in failed]
    for title, sql, plan in run["explained"]:
        lines += [
            "",
            f"`EXPLAIN ANALYZE` of the filtered board's query for {title}:",
            "",
            "```sql",
            sql,
            "```",
            "",
            "```",
            plan,
            "```",
        ]
    return "\n".join(lines)


def growth_report(args, runs: list[dict], command: str) -> str:
    """The growth table: each page's `PAGE_CACHE=0` share at each size, side by side."""
    heads = [f"{run['made']['squads']:,} squads" for run in runs]
    lines = [
        f"Measured on {dt.datetime.now().astimezone():%d %b %Y} with `{command}`: each size "
        f"generated in turn (scale {args.growth} of the default), served by one server with "
        f"`PAGE_CACHE=0`, {args.users} readers, {args.growth_duration} s a scenario. Each "
        "cell: the page's share of the bare view measured on the same server in the same "
        "run, and its p95 in ms.",
        "",
        "| page | " + " | ".join(heads) + " | roughly constant |",
        "|---|" + "---:|" * len(runs) + "---|",
    ]
    for name in PAGES:
        cells, shares = [], []
        label = name
        for run in runs:
            r = _by_key(run["results"]).get((name, False))
            if r is None:
                cells.append("")
                continue
            label = r["label"]
            shares.append(share(r, run["ceilings"]))
            cells.append(f"{shares[-1]:.1%} ({_ms(r['p95'])})")
        if not shares:
            continue
        steady = len(shares) < 2 or shares[-1] >= GROWTH_KEEPS * shares[0]
        verdict = "yes" if steady else f"**no** ({shares[-1] / shares[0]:.0%} of the smallest)"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {verdict} |")
    lines.append(
        "| bare view, req/s | "
        + " | ".join(f"{run['ceilings'].get(False, 0):.0f}" for run in runs)
        + " | |"
    )
    lines += [
        "",
        f'"Roughly constant": the largest organisation keeps at least {GROWTH_KEEPS:.0%} of '
        "the smallest one's share. Organisations:",
        "",
    ]
    lines += [
        f"- {_organisation(run['made'])}: "
        + (
            "the main run's database, "
            if run["made"].get("reused")
            else f"generated in {run['made']['generate_s']:.0f} s, reviewed in "
            f"{run['made'].get('review_s', 0):.0f} s, "
        )
        + f"set up and measured in {run['seconds'] / 60:.1f} min."
        for run in runs
    ]
    return "\n".join(lines)


def _replace_between(text: str, start: str, end: str, block: str) -> str | None:
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        return before + f"{start}\n{block}\n{end}" + after
    return None


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    replaced = _replace_between(text, DOC_START, DOC_END, block)
    if replaced is not None:
        text = replaced
    else:
        generated = f"{DOC_START}\n{block}\n{DOC_END}"
        section = f"{DOC_HEADING}\n\n{generated}\n\n"
        marker = "\n## Overlap detection"
        if marker in text:
            head, tail = text.split(marker, 1)
            text = head.rstrip("\n") + "\n\n" + section + marker.lstrip("\n") + tail
        else:
            text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


def write_growth_doc(block: str) -> None:
    """The growth table between its own markers; the first time, right after the run's
    figures."""
    text = DOC.read_text(encoding="utf-8")
    replaced = _replace_between(text, GROWTH_START, GROWTH_END, block)
    if replaced is None:
        generated = f"\n\n### Growth\n\n{GROWTH_START}\n{block}\n{GROWTH_END}"
        if DOC_END not in text:
            text = text.rstrip("\n") + generated + "\n"
        else:
            head, tail = text.split(DOC_END, 1)
            replaced = head + DOC_END + generated + tail
    DOC.write_text(replaced or text, encoding="utf-8")


# --- profiling one page -------------------------------------------------------------------


def profile(path: str, username: str, repeat: int) -> None:
    """Profile a page in one process with the server's settings (run as a child with its
    environment): pyinstrument over `repeat` requests after a warm-up."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(get_user_model().objects.get(username=username))
    for _ in range(3):
        assert client.get(path).status_code in (200, 204), path
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for _ in range(repeat):
            client.get(path)
    spent = (time.perf_counter() - started) / repeat
    print(f"{path}: {spent * 1000:.1f} ms a request in one process\n")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


# --- driving it --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_argument_group("the organisation")
    size.add_argument("--squads", type=int, default=200)
    size.add_argument("--people", type=int, default=1000)
    size.add_argument("--initiatives", type=int, default=5000)
    size.add_argument("--dependencies", type=int, default=20000)
    size.add_argument("--scale", type=float, default=1.0, help="multiplies all four counts")
    size.add_argument("--seed", type=int, default=2027)
    load = parser.add_argument_group("the load")
    load.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    load.add_argument("--users", type=int, default=8, help="concurrent readers")
    load.add_argument("--writers", type=int, default=20, help="concurrent writers")
    load.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    load.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (gthread when > 1)"
    )
    load.add_argument(
        "--scenarios",
        default=",".join(s[0] for s in SCENARIOS),
        help="comma-separated, from: "
        + ", ".join(s[0] for s in SCENARIOS)
        + "; 'none' for the growth table alone",
    )
    load.add_argument("--port", type=int, default=0, help="default: a free one")
    load.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="a Redis database nothing else uses: it is emptied before and after",
    )
    growth = parser.add_argument_group("the growth table")
    growth.add_argument(
        "--growth",
        default=None,
        help=f"scales of the default organisation, e.g. {DEFAULT_GROWTH} (the default at the "
        "default size; otherwise none unless asked), or 'none'",
    )
    growth.add_argument(
        "--growth-duration", type=int, default=10, help="seconds per scenario in the growth runs"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="also profile this page (e.g. /board/) with pyinstrument and print it",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (and reuse it)"
    )
    parser.add_argument("--child", choices=["profile"], help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    custom = any(
        arg.split("=", 1)[0]
        in {"--scale", "--squads", "--people", "--initiatives", "--dependencies"}
        for arg in (sys.argv[1:] if argv is None else argv)
    )
    if args.growth is None:
        args.growth = "none" if custom else DEFAULT_GROWTH
    args.growth_scales = (
        [] if args.growth == "none" else [float(x) for x in args.growth.split(",") if x.strip()]
    )
    if args.scale != 1.0:
        scaled(args, args.scale, into=args)
    return args


def scaled(args: argparse.Namespace, scale: float, *, into=None) -> argparse.Namespace:
    """`args` with the organisation's four counts multiplied by `scale` (from the defaults
    when `into` is None, for the growth runs)."""
    out = into if into is not None else argparse.Namespace(**vars(args))
    defaults = {"squads": 200, "people": 1000, "initiatives": 5000, "dependencies": 20000}
    for name, default in defaults.items():
        base = getattr(args, name) if into is not None else default
        setattr(out, name, max(4, round(base * scale)))
    return out


def measure(
    args: argparse.Namespace,
    sized: argparse.Namespace,
    *,
    bench_name: str,
    original: str,
    scenarios: list[tuple],
    duration: int,
    both_servers: bool,
    keep: bool = False,
    reuse: dict | None = None,
) -> dict:
    """Create and fill `bench_name` with `sized`'s organisation, serve it (with the page
    cache and with PAGE_CACHE=0 side by side, or only the latter), run the scenarios and
    drop the database again unless `keep`. With `reuse` (what an earlier run made there),
    an existing `bench_name` is served as it is."""
    from django.db import connection

    started = time.perf_counter()
    _leave_database()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = bench_name
    # The database DATABASE_URL names need not exist: only the server is used.
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name])
        exists = cursor.fetchone() is not None
    if exists and (keep or reuse):
        log(f"Reusing the database {bench_name} ...")
        connection.close()
        connection.settings_dict["NAME"] = bench_name
        made = (
            {**reuse, "reused": True}
            if reuse
            else {
                "squads": _count("squads_squad"),
                "people": _count("auth_user"),
                "initiatives": _count("planning_initiative"),
                "dependencies": _count("dependencies_dependency"),
                "generate_s": 0.0,
            }
        )
    else:
        log(f"Creating the throwaway database {bench_name} ...")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        log(
            f"Generating {sized.squads} squads, {sized.people} people, {sized.initiatives} "
            f"initiatives, {sized.dependencies} dependencies, and reviewing them ..."
        )
        made = generate(sized)
        log(f"... in {made['generate_s']:.0f} s, reviewed in {made['review_s']:.0f} s")
    database_url = bench_review.database_url_for(bench_name)
    workdir = Path(tempfile.mkdtemp(prefix="throughline-bench-"))
    servers: list[dict] = []
    try:
        env = server_env(args, database_url, workdir)
        collect_static(env)
        # The same settings, secret and Redis on both, so a session signed in on one is
        # signed in on the other; only PAGE_CACHE differs.
        for tag, cached in [("cached", True), ("uncached", False)][0 if both_servers else 1 :]:
            proc, base, port = start_server(
                args, {**env, "PAGE_CACHE": "1" if cached else "0"}, workdir, tag
            )
            servers.append({"proc": proc, "base": base, "port": port, "tag": tag, "cached": cached})
        first = servers[0]
        host = f"127.0.0.1:{first['port']}"
        log(
            f"gunicorn ({args.workers} workers × {args.threads} threads) on "
            + " and ".join(f"{s['base']} ({s['tag']})" for s in servers)
            + "; signing in ..."
        )
        writes = any(s[3] == "writers" for s in scenarios)
        data = prepare_sessions(args, first["base"], host, writers=writes)
        data_file = workdir / "sessions.json"
        data_file.write_text(json.dumps(data))
        for server in servers:
            warm_up(server["base"], data, cached=server["cached"])
        if args.profile and both_servers:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child=profile",
                    f"--profile={args.profile}",
                    f"--user={data['readers'][0]['username']}",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            print(done.stdout or done.stderr)
        about = machine(args.workers, args.threads)
        # Each page on one server and then straight away on the other, so both see the
        # same moment of a shared machine; the bare views first and last.
        order = []
        for scenario in [*scenarios, *[s for s in scenarios if s[0] == "bare"]]:
            for server in servers:
                if server["cached"] or scenario[0] == "bare" or scenario[0] in PAGES:
                    order.append((scenario, server))
        results = []
        for scenario, server in order:
            log(f"{scenario[1]} ({server['tag']}): {duration} s ...")
            results.append(run_scenario(args, server, data_file, workdir, scenario, duration))
            r = results[-1]
            log(
                f"    {r['rps']:.1f} req/s, p50 {_ms(r['p50'])} ms, p95 {_ms(r['p95'])} ms, "
                f"p99 {_ms(r['p99'])} ms, {r['failures']} failed"
            )
        explained = (
            explain_board(data["filtered_boards"][1 % len(data["filtered_boards"])])
            if both_servers
            else []
        )
    finally:
        for server in servers:
            stop_server(server["proc"])
        shutil.rmtree(workdir, ignore_errors=True)
        _leave_database()
        if not keep:
            connection.creation.destroy_test_db(original, verbosity=0)
    return {
        "made": made,
        "about": about,
        "results": results,
        "ceilings": ceilings_of(results),
        "explained": explained,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    args = parse_args()
    if args.child == "profile":
        profile(args.profile, args.user, 20)
        return
    began = time.perf_counter()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # The generating process needs neither Redis nor a broker, and judges overlap by shared
    # words (generate()); the review's notifications are not mailed.
    os.environ.update(
        REDIS_URL="",
        CELERY_BROKER_URL="memory://",
        OVERLAP_SEMANTIC="0",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    bench_review.setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("the load benchmark needs PostgreSQL: set DATABASE_URL")
    original = connection.settings_dict["NAME"]
    names = {"main": f"{original}_loadbench", "growth": f"{original}_loadgrowth"}
    for name in names.values():
        if name in {"throughline"} or name.startswith("test_"):
            sys.exit(f"refusing to use the database {name}")
    import redis

    store = redis.Redis.from_url(args.redis_url)
    store.flushdb()
    wanted = [] if args.scenarios == "none" else args.scenarios.split(",")
    chosen = [s for s in SCENARIOS if s[0] in wanted]
    main_run, growth_runs = None, []
    # The growth step of the main run's size is measured on the main run's database.
    shared = None
    if chosen:
        shared = next(
            (x for x in args.growth_scales if _counts(scaled(args, x)) == _counts(args)), None
        )
    try:
        if chosen:
            main_run = measure(
                args,
                args,
                bench_name=names["main"],
                original=original,
                scenarios=chosen,
                duration=args.duration,
                both_servers=True,
                keep=args.keep or shared is not None,
            )
        store.flushdb()
        pages = [s for s in SCENARIOS if s[0] == "bare" or s[0] in PAGES]
        for scale in args.growth_scales:
            log(f"\nGrowth: scale {scale:g} of the default organisation")
            growth_runs.append(
                measure(
                    args,
                    scaled(args, scale),
                    bench_name=names["main" if scale == shared else "growth"],
                    original=original,
                    scenarios=pages,
                    duration=args.growth_duration,
                    both_servers=False,
                    keep=args.keep if scale == shared else False,
                    reuse=main_run["made"] if scale == shared else None,
                )
            )
            store.flushdb()
    finally:
        store.flushdb()
        if not args.keep:
            # The main run's database when a failure came before the growth step that uses it.
            _leave_database()
            connection.settings_dict["NAME"] = original
            with connection._nodb_cursor() as cursor:
                for name in names.values():
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    minutes = (time.perf_counter() - began) / 60
    command = "make bench" + (
        f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else ""
    )
    if main_run is not None:
        block = report(args, main_run, command, minutes)
        print(block)
        if not args.no_doc:
            write_doc(block)
    if growth_runs:
        block = growth_report(args, growth_runs, command)
        print("\n" + block)
        if not args.no_doc:
            write_growth_doc(block)
    log(f"\nThe whole run took {minutes:.1f} min.")
    if not args.no_doc:
        log(f"Written to {DOC.relative_to(ROOT)}.")


def _leave_database() -> None:
    """Close the connection and its pool: the pool keeps connections to the database it was
    opened on, whatever NAME says next."""
    from django.db import connection

    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()


def _counts(sized: argparse.Namespace) -> tuple[int, ...]:
    return (sized.squads, sized.people, sized.initiatives, sized.dependencies)


def _count(table_name: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table_name}"')  # noqa: S608 (a fixed name)
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
