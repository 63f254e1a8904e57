"""Time the board and the graph drawn afresh, in one process: what a cache miss costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/throughline_loadbench \\
        .venv/bin/python scripts/bench_board.py

The database must hold the benchmark's organisation (`scripts/bench.py --keep` leaves it in
`<DATABASE_URL's database>_loadbench`). Signed in as the DRI of the 26th squad (a reader of
the load benchmark), with `PAGE_CACHE=0` and the server's settings (`DEBUG=0`), each page is
asked `--repeat` times through Django's test client after a warm-up; the figures are the
median and the fastest wall time and the process's own CPU time (the database's work is in
the wall time only), and the queries of one request. `--root` runs another checkout of the
app against the same database, to compare before and after back to back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["/board/", "/board/?to={squad}&status=open", "/board/graph/", "/board/graph/?to={squad}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--root", default=str(ROOT), help="the checkout of the app to run")
    parser.add_argument("pages", nargs="*", default=PAGES, help="{squad}: a provider's key")
    args = parser.parse_args()
    # The checkout's own packages first, whatever the working directory.
    sys.path[:0] = [args.root]
    os.chdir(tempfile.gettempdir())
    workdir = Path(tempfile.mkdtemp(prefix="throughline-bench-board-"))
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="bench-board-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        PAGE_CACHE="0",
        STATIC_ROOT=str(workdir / "static"),
        THROUGHLINE_VAR_DIR=str(workdir / "var"),
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="throughline.settings",
    )
    os.environ.setdefault("REDIS_URL", "")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from squads.models import Squad

    call_command("collectstatic", interactive=False, verbosity=0)
    squads = list(Squad.objects.order_by("id").values_list("key", "dri_id"))
    reader = get_user_model().objects.get(pk=squads[len(squads) // 8][1])
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    client.force_login(reader)
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    print(f"{args.root}: {len(squads)} squads, {args.repeat} requests a page, PAGE_CACHE=0")
    for template in args.pages:
        path = template.format(squad=squads[4][0])
        for _ in range(3):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        queries.clear()
        with connection.execute_wrapper(count):
            response = client.get(path)
        walls, cpus = [], []
        for _ in range(args.repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            client.get(path)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        print(
            f"{path}: wall median {statistics.median(walls):.1f} ms (fastest {min(walls):.1f}),"
            f" CPU median {statistics.median(cpus):.1f} ms, {len(queries)} queries,"
            f" {len(response.content) // 1024} KB"
        )


if __name__ == "__main__":
    main()
