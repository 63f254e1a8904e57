"""Time the pages drawn afresh (PAGE_CACHE=0) in one process with the Django test client.

Run against the load benchmark's organisation, kept with `--keep`:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/throughline \\
        .venv/bin/python scripts/bench.py --scenarios bare --duration 3 --keep --no-doc
    .venv/bin/python scripts/bench_pages.py \\
        --database-url postgres://postgres@127.0.0.1:5432/throughline_loadbench

The first row is the load benchmark's bare view, for scale. Each page is asked for
`--repeat` times after three warm-up requests, signed in as the DRI of the squad
`--squad` (s1 by default), with the server's settings (DEBUG=0, the cached template
loader); the output is each page's median, fastest and slowest time, the median CPU
time of this process (the Python side, less sensitive to other work on the machine than
the wall clock), the median time spent waiting on the database, its query count and its
size. `--profile PATH` prints a pyinstrument profile of one page instead.

The load benchmark's organisation has no findings until the review runs: `--review` runs it
once first when the cycle has none (words only, `OVERLAP_SEMANTIC=0`, about a minute; it
stores some 30,000 findings, most of them live). Otherwise the database is only read.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PAGES = (
    "/bench/bare/",
    "/squads/{squad}/plan/",
    "/squads/{busiest}/plan/",
    "/squads/",
    "/squads/?q=s1",
    "/findings/",
    "/timeline/",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--squad", default="s1", help="the viewer is this squad's DRI")
    parser.add_argument("--busiest", default="s0", help="a second plan page, the busiest")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--page", action="append", help="only these paths (repeatable)")
    parser.add_argument("--profile", metavar="PATH", help="profile this page instead")
    parser.add_argument(
        "--review", action="store_true", help="run the review first if there are no findings"
    )
    args = parser.parse_args()

    static = Path(tempfile.gettempdir()) / "throughline-bench-pages-static"
    os.environ.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "PAGE_CACHE": "0",
            "OVERLAP_SEMANTIC": "0",
            "CELERY_BROKER_URL": "memory://",
            "STATIC_ROOT": str(static),
            "LOG_LEVEL": "WARNING",
            # The app's settings with the bare view of the load benchmark at /bench/bare/.
            "DJANGO_SETTINGS_MODULE": "bench_settings",
        }
    )
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from squads.models import Squad

    if not (static / "staticfiles.json").exists():
        call_command("collectstatic", "--noinput", verbosity=0)
    if args.review:
        from core.models import Cycle
        from planning.models import Finding
        from planning.services import review_run

        for cycle in Cycle.objects.all():
            if not Finding.objects.filter(cycle=cycle).exists():
                review_run(cycle=cycle, trigger="bench")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE planning_finding")
    squad = Squad.objects.select_related("dri").get(key=args.squad)
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(squad.dri)
    paths = args.page or [p.format(squad=args.squad, busiest=args.busiest) for p in PAGES]

    if args.profile:
        from pyinstrument import Profiler

        for _ in range(3):
            assert client.get(args.profile).status_code == 200, args.profile
        profiler = Profiler(interval=0.0005)
        started = time.perf_counter()
        with profiler:
            for _ in range(args.repeat):
                client.get(args.profile)
        spent = (time.perf_counter() - started) / args.repeat
        print(f"{args.profile}: {spent * 1000:.1f} ms a request in one process\n")
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return

    print(
        f"{'page':<28} {'median ms':>9} {'min':>6} {'max':>6} {'cpu ms':>6} "
        f"{'sql ms':>6} {'queries':>7} {'KB':>6}"
    )
    for path in paths:
        for _ in range(3):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        times, cpu, sql = [], [], []
        for _ in range(args.repeat):
            waited = [0.0]
            queries: list[str] = []

            def timed(execute, sql_text, params, many, context, waited=waited, queries=queries):
                started = time.perf_counter()
                try:
                    return execute(sql_text, params, many, context)
                finally:
                    waited[0] += time.perf_counter() - started
                    queries.append(sql_text)

            started, used = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(timed):
                response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
            sql.append(waited[0] * 1000)
        print(
            f"{path:<28} {statistics.median(times):>9.1f} {min(times):>6.1f} "
            f"{max(times):>6.1f} {statistics.median(cpu):>6.1f} {statistics.median(sql):>6.1f} "
            f"{len(queries):>7} {len(response.content) / 1024:>6.0f}"
        )


if __name__ == "__main__":
    main()
