"""Benchmark the web app under load: `make bench`.

    .venv/bin/python scripts/bench.py                    # 200 squads, 1,000 people,
                                                         # 5,000 initiatives, 20,000 deps
    .venv/bin/python scripts/bench.py --scale 0.1 --duration 10 --no-doc   # a quick look

Creates a throwaway PostgreSQL database beside the one DATABASE_URL names
(`<name>_loadbench`; default postgres://postgres@127.0.0.1:5432/throughline), migrates it
and fills it with one organisation (the review benchmark's generator, scripts/bench_review.py),
then starts gunicorn with production settings (DEBUG=0, Redis database 13 for the cache and
the broker, the write rate limit raised) on a free loopback port and drives it with locust,
headless, with sessions signed in through /accounts/login/. One scenario at a time, each for
--duration seconds on the same server: a bare view that renders a tiny template (the ceiling,
measured first and last), the board's first page, a filtered board, the graph, a squad's plan
page, a no-change live poll, and a plan section saved by 20 concurrent writers (as fast as
they can, then paced at one save a second each). Prints throughput and p50/p95/p99 latency,
each page's throughput as a share of the bare view's, whether the budgets hold, and writes
all of it with the machine's description into docs/performance.md ("Web app under load").
Drops the database, and empties its Redis database, at the end.

One script of about 850 lines on purpose: making the data, serving it, loading it and
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
    ("board", "board, first page", "board, first page", "readers", 0),
    ("board_filtered", "board, filtered", "board, filtered", "readers", 0),
    ("graph", "graph", "graph", "readers", 0),
    ("plan", "plan page", "plan page", "readers", 0),
    ("poll", "no-change poll", "no-change poll", "readers", 0),
    ("save", "section save, 20 writers flat out", "section save", "writers", 0),
    ("save_paced", "section save, 20 writers at 1/s each", "section save", "writers", 1),
]
BUDGET_SHARES = {"poll": 0.40, "plan": 0.15, "board": 0.10}
BUDGET_SAVE_P95_MS = 150
LIVE_RE = re.compile(r'id="plan-live"[^>]*data-live-url="([^"]+)" data-etag="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the organisation --------------------------------------------------------------------


def generate(args: argparse.Namespace) -> dict:
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
    with connection.cursor() as cursor:
        # What autovacuum would have done on a live database.
        cursor.execute("VACUUM ANALYZE")
    return made


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(args: argparse.Namespace, database_url: str, workdir: Path) -> dict[str, str]:
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
        }
    )
    return env


def start_server(args: argparse.Namespace, env: dict[str, str], workdir: Path):
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = args.port or free_port()
    logfile = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 (closed with the server)
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
            str(workdir / "access.log"),
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
            sys.exit(f"gunicorn did not start:\n{(workdir / 'gunicorn.log').read_text()}")
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


def prepare_sessions(args: argparse.Namespace, base: str, host: str) -> dict:
    """Sign the readers and writers in; find each reader's poll URL and each writer's
    section version, as their pages give them."""
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
    writers_at = writers_at[: args.writers]

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        readers = list(pool.map(lambda at: sign_in(base, host, at[1]), readers_at))
        writers = list(pool.map(lambda at: sign_in(base, host, at[1]), writers_at))

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

    for session, (key, _username, section) in zip(writers, writers_at, strict=True):
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

    step = max(1, len(squads) // 50)
    filtered = [f"/board/?{urlencode({'to': key, 'status': 'open'})}" for key, _ in squads[::step]]
    return {"host": host, "readers": readers, "writers": writers, "filtered_boards": filtered}


# --- measuring ---------------------------------------------------------------------------


def run_scenario(
    args: argparse.Namespace, base: str, data_file: Path, workdir: Path, scenario: tuple
) -> dict:
    name, label, request_name, who, pace = scenario
    users = args.writers if who == "writers" else args.users
    prefix = workdir / f"locust-{name}"
    env = {
        **os.environ,
        "BENCH_SCENARIO": "save" if name.startswith("save") else name.removesuffix("_again"),
        "BENCH_DATA": str(data_file),
        "BENCH_PACE": str(pace),
    }
    access_log = workdir / "access.log"
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
            f"{args.duration}s",
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
    if row is None:
        sys.exit(f"locust ran no {request_name!r} requests:\n{done.stdout}\n{done.stderr}")
    failures = workdir / f"locust-{name}_failures.csv"
    failure_text = ""
    if failures.exists():
        with failures.open(newline="") as f:
            failure_text = "; ".join(f"{r['Occurrences']}x {r['Error']}" for r in csv.DictReader(f))
    conflicts = rows.get("conflict view")
    server = server_times(access_log, log_start, "POST" if name.startswith("save") else "GET")
    return {
        "name": name,
        "label": label.replace("20 writers", f"{users} writers"),
        "users": users,
        "pace": pace,
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "failure_text": failure_text,
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "p99": float(row["99%"]),
        "conflicts": int(conflicts["Request Count"]) if conflicts else 0,
        "server_p50": _percentile(server, 0.50),
        "server_p95": _percentile(server, 0.95),
    }


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


def warm_up(base: str, data: dict) -> None:
    """A few requests to each page first, so that every worker has loaded its code."""
    reader = data["readers"][0]
    cookies = {"sessionid": reader["sessionid"], "csrftoken": reader["csrftoken"]}
    paths = [
        "/bench/bare/",
        "/board/",
        data["filtered_boards"][0],
        "/board/graph/",
        f"/squads/{reader['squad']}/plan/",
    ]
    for _ in range(3):
        for path in paths:
            http(base, path, cookies=cookies)


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


def share(result: dict, ceiling: float) -> float:
    return result["rps"] / ceiling if ceiling else 0.0


def verdicts(results: dict[str, dict], ceiling: float) -> list[str]:
    lines = []
    for name, minimum in BUDGET_SHARES.items():
        if name not in results:
            continue
        got = share(results[name], ceiling)
        state = "holds" if got >= minimum else "**does not hold**"
        lines.append(
            f"{results[name]['label']} >= {minimum:.0%} of the bare view: {state} ({got:.1%})"
        )
    for name in ("save", "save_paced"):
        if name in results:
            p95 = results[name]["p95"]
            state = "holds" if p95 <= BUDGET_SAVE_P95_MS else "**does not hold**"
            lines.append(
                f"{results[name]['label']}: p95 <= {BUDGET_SAVE_P95_MS} ms {state} ({p95:.0f} ms)"
            )
    return lines


def table(results: list[dict], ceiling: float) -> list[str]:
    lines = [
        "| scenario | users | requests | req/s | share of bare | p50 ms | p95 ms | p99 ms "
        "| server p50 / p95 ms | failed | conflict views |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        server = (
            f"{r['server_p50']:.0f} / {r['server_p95']:.0f}"
            if r.get("server_p50") is not None
            else ""
        )
        lines.append(
            f"| {r['label']} | {r['users']} | {r['requests']:,} | {r['rps']:.1f} | "
            f"{share(r, ceiling):.1%} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | "
            f"{server} | {r['failures']} | "
            f"{r['conflicts'] if r['name'].startswith('save') else ''} |"
        )
    return lines


def report(args, made, about, results, ceiling, explained, command) -> str:
    by_name = {r["name"]: r for r in results if r["name"] != "bare_again"}
    lines = [
        f"Measured on {dt.datetime.now().astimezone():%d %b %Y} with `{command}`.",
        "",
        f"- Machine: {about['cpu']}, {about['ram']}; {about['software']}. Load average "
        f"{about['load']} when the run started.",
        f"- Organisation: {made['squads']:,} squads, {made['people']:,} people, "
        f"{made['initiatives']:,} initiatives, {made['dependencies']:,} dependencies "
        f"(generated in {made['generate_s']:.0f} s).",
        f"- Each scenario ran for {args.duration} s on the same server, one after another; "
        f"readers: {args.users} signed-in sessions asking back to back; writers: "
        f"{args.writers} signed-in members co-writing {WRITER_SQUADS} plans (four on each, "
        "two of them on the same section).",
        "- The ceiling is the bare view's mean of its two runs, first and last: "
        + " and ".join(f"{r['rps']:.0f}" for r in results if r["name"].startswith("bare"))
        + f" req/s, so {ceiling:.0f} req/s.",
        "",
        *table(results, ceiling),
        "",
        "Budgets:",
        "",
        *[f"- {line}" for line in verdicts(by_name, ceiling)],
    ]
    failed = [r for r in results if r["failure_text"]]
    if failed:
        lines += ["", "Failed requests:", ""]
        lines += [f"- {r['label']}: {r['failure_text']}" for r in failed]
    for title, sql, plan in explained:
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


def write_doc(block: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    generated = f"{DOC_START}\n{block}\n{DOC_END}"
    if DOC_START in text and DOC_END in text:
        before, rest = text.split(DOC_START, 1)
        _, after = rest.split(DOC_END, 1)
        text = before + generated + after
    else:
        section = f"{DOC_HEADING}\n\n{generated}\n\n"
        marker = "\n## Overlap detection"
        if marker in text:
            head, tail = text.split(marker, 1)
            text = head.rstrip("\n") + "\n\n" + section + marker.lstrip("\n") + tail
        else:
            text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_argument_group("the organisation")
    size.add_argument("--squads", type=int, default=200)
    size.add_argument("--people", type=int, default=1000)
    size.add_argument("--initiatives", type=int, default=5000)
    size.add_argument("--dependencies", type=int, default=20000)
    size.add_argument("--scale", type=float, default=1.0, help="multiplies all four counts")
    size.add_argument("--seed", type=int, default=2027)
    load = parser.add_argument_group("the load")
    load.add_argument("--duration", type=int, default=25, help="seconds per scenario")
    load.add_argument("--users", type=int, default=8, help="concurrent readers")
    load.add_argument("--writers", type=int, default=20, help="concurrent writers")
    load.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    load.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (gthread when > 1)"
    )
    load.add_argument(
        "--scenarios",
        default=",".join(s[0] for s in SCENARIOS),
        help="comma-separated, from: " + ", ".join(s[0] for s in SCENARIOS),
    )
    load.add_argument("--port", type=int, default=0, help="default: a free one")
    load.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="a Redis database nothing else uses: it is emptied before and after",
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
    args = parser.parse_args()
    if args.scale != 1.0:
        for name in ("squads", "people", "initiatives", "dependencies"):
            setattr(args, name, max(4, round(getattr(args, name) * args.scale)))
    return args


def main() -> None:
    args = parse_args()
    if args.child == "profile":
        profile(args.profile, args.user, 20)
        return
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # The generating process needs neither Redis nor a broker.
    os.environ.update(REDIS_URL="", CELERY_BROKER_URL="memory://")
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    bench_review.setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("the load benchmark needs PostgreSQL: set DATABASE_URL")
    original = connection.settings_dict["NAME"]
    bench_name = f"{original}_loadbench"
    if bench_name in {"throughline"} or bench_name.startswith("test_"):
        sys.exit(f"refusing to use the database {bench_name}")
    import redis

    store = redis.Redis.from_url(args.redis_url)
    store.flushdb()

    connection.settings_dict.setdefault("TEST", {})["NAME"] = bench_name
    # The database DATABASE_URL names need not exist: only the server is used.
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name])
        reuse = args.keep and cursor.fetchone() is not None
    if reuse:
        log(f"Reusing the database {bench_name} (--keep) ...")
        connection.close()
        connection.settings_dict["NAME"] = bench_name
        made = {
            "squads": _count("squads_squad"),
            "people": _count("auth_user"),
            "initiatives": _count("planning_initiative"),
            "dependencies": _count("dependencies_dependency"),
            "generate_s": 0.0,
        }
    else:
        log(f"Creating the throwaway database {bench_name} ...")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        log(
            f"Generating {args.squads} squads, {args.people} people, {args.initiatives} "
            f"initiatives, {args.dependencies} dependencies ..."
        )
        made = generate(args)
        log(f"... in {made['generate_s']:.0f} s")
    database_url = bench_review.database_url_for(bench_name)
    workdir = Path(tempfile.mkdtemp(prefix="throughline-bench-"))
    server = None
    try:
        env = server_env(args, database_url, workdir)
        server, base, port = start_server(args, env, workdir)
        host = f"127.0.0.1:{port}"
        log(f"gunicorn ({args.workers} workers × {args.threads} threads) on {base}; signing in ...")
        data = prepare_sessions(args, base, host)
        data_file = workdir / "sessions.json"
        data_file.write_text(json.dumps(data))
        warm_up(base, data)
        if args.profile:
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
        wanted = args.scenarios.split(",")
        chosen = [s for s in SCENARIOS if s[0] in wanted]
        if chosen and chosen[0][0] == "bare":
            chosen.append(("bare_again", *SCENARIOS[0][1:]))
        results = []
        for scenario in chosen:
            log(f"{scenario[1]}: {args.duration} s ...")
            results.append(run_scenario(args, base, data_file, workdir, scenario))
            r = results[-1]
            log(
                f"    {r['rps']:.1f} req/s, p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                f"p99 {r['p99']:.0f} ms, {r['failures']} failed"
            )
        explained = explain_board(data["filtered_boards"][1 % len(data["filtered_boards"])])
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)
        store.flushdb()
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)
    bares = [r["rps"] for r in results if r["name"] in ("bare", "bare_again")]
    ceiling = sum(bares) / len(bares) if bares else 0.0
    command = "make bench" + (
        f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else ""
    )
    block = report(args, made, about, results, ceiling, explained, command)
    print(block)
    if not args.no_doc:
        write_doc(block)
        log(f"\nWritten to {DOC.relative_to(ROOT)}.")


def _count(table_name: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table_name}"')  # noqa: S608 (a fixed name)
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
