"""Imports and exports at scale: a planning file, spreadsheets, the board's exports.

    .venv/bin/python scripts/bench_import_scale.py            # print the Markdown block
    .venv/bin/python scripts/bench_import_scale.py --doc      # also write it to the doc

Runs against the database DATABASE_URL names, but never touches its data: it creates a
throwaway database beside it (`<name>_bench_import`), migrates it, and drops it at the end.
Each measurement runs in a fresh process against that database, so its peak resident memory
(ru_maxrss) is its own, Python and Django included.

1. A planning file (planning-file/2) of 400 squads, 1,200 people, two journeys of eight
   stages, 10,000 initiatives and 30,000 dependencies of every kind the format allows
   (needed by a squad or an initiative; provided by a squad, an initiative or a function;
   with and without an owner) is generated from a fixed seed and imported with
   `manage.py import_plans` into the empty database, then imported again (nothing to
   change).
2. Spreadsheets of 5,000 initiatives and of 5,000 dependencies, as XLSX and as CSV, are read,
   checked (the preview) and applied (the confirmation), as the import page does.
3. The board's CSV and XLSX exports of all 30,000 dependencies... and the first 20,000 of
   them, through the Django test client: time to the first byte, in total, and peak memory.

With `--doc` the block replaces the one between `<!-- bench-import:start -->` and
`<!-- bench-import:end -->` in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # bench_review beside this file, however it is run
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench-import:start -->", "<!-- bench-import:end -->"
# The review benchmark's vocabulary, so both generate the same kind of plans.
import bench_review  # noqa: E402
from bench_review import AUDIENCES, FUNCTIONS, THINGS, VERBS, database_url_for  # noqa: E402

PROVIDER_FUNCTIONS = ["People", "Legal", "Finance", "IT"]
STAGES = ["awareness", "acquisition", "onboarding", "adoption", "support", "expansion"]
CYCLE_START = dt.date(2027, 1, 1)
SEED = 2027


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")
    import django

    django.setup()


# --- the planning file -------------------------------------------------------------------


def planning_file(
    *, squads: int = 400, initiatives: int = 10_000, dependencies: int = 30_000, seed: int = SEED
) -> dict:
    """A planning-file/2 document of one cycle; the same document for the same arguments."""
    rng = random.Random(seed)
    n_people = squads * 3
    people = []
    for n in range(n_people):
        # One person in ten works in a providing function (People, Legal, ...), outside squads.
        function = PROVIDER_FUNCTIONS[n // 10 % 4] if n % 10 == 9 else rng.choice(FUNCTIONS)
        people.append(
            {
                "username": f"p{n}",
                "name": f"Person {n}",
                "email": f"p{n}@example.com",
                "title": "Manager" if n % 7 == 0 else "",
                "function": function,
            }
        )
    journeys = []
    for j in range(2):
        stages = []
        for s, key in enumerate(STAGES + ["renewal", "advocacy"]):
            stages.append(
                {
                    "key": key,
                    "name": key.title(),
                    "customer_goal": f"Succeed at {key}",
                    "today": f"{key.title()} is slow",
                    "tomorrow": f"{key.title()} is quick",
                    "emotion_today": -1,
                    "emotion_target": 1 + (s + j) % 2,
                    "moments": [
                        {"when": "Day 1", "today": "Confused", "tomorrow": "Guided"},
                        {"when": "Week 2", "tomorrow": "Confident"},
                    ],
                }
            )
        journeys.append(
            {
                "key": f"journey{j}",
                "name": f"Journey {j}",
                "description": "The customer's way from first touch to renewal",
                "segments": ["smb", "enterprise"] if j == 0 else ["enterprise"],
                "stages": stages,
            }
        )
    stage_refs = [f"{j['key']}/{s['key']}" for j in journeys for s in j["stages"]]
    members_of: list[list[str]] = []
    squad_docs = []
    squad_people = [p for p in range(n_people) if p % 10 != 9]
    for n in range(squads):
        dri = squad_people[n % len(squad_people)]
        team = [dri] + sorted({rng.choice(squad_people) for _ in range(4)} - {dri}, key=lambda p: p)
        members_of.append([f"p{p}" for p in team])
        squad_docs.append(
            {
                "key": f"s{n}",
                "name": f"Squad {n}",
                "cycle": "fy2027",
                "dri": f"p{dri}",
                "members": [{"person": f"p{p}", "function": people[p]["function"]} for p in team],
                "stages": rng.sample(stage_refs, rng.randint(1, 2)),
                "okr": {
                    "objective": f"Customers of squad {n} succeed",
                    "key_results": [
                        {
                            "key": f"kr{k}",
                            "name": f"Key result {k}",
                            "unit": "%",
                            "baseline": 10 + k,
                            "target": 20 + k,
                            "current": 12,
                            "direction": "increase" if k == 0 else "decrease",
                        }
                        for k in range(2)
                    ],
                },
                "plan": {
                    "current_experience": f"Squad {n}'s customers wait for answers.",
                    "desired_experience": f"Squad {n}'s customers get answers the same day.",
                    "success_metrics": "Answer time, reviewed weekly.",
                    "not_doing": ["A rewrite of the help centre"],
                },
                "initiatives": [],
            }
        )
    refs = []
    for n in range(initiatives):
        squad = squad_docs[n * squads // initiatives]
        starts = CYCLE_START + dt.timedelta(days=rng.randrange(0, 240))
        ends = starts + dt.timedelta(days=rng.randrange(30, 120))
        thing, audience = rng.choice(THINGS), rng.choice(AUDIENCES)
        item = {
            "key": f"i{n}",
            "title": f"{rng.choice(VERBS)} the {thing} for {audience}",
            "description": f"Work on the {thing} so that {audience} reach value sooner.",
            "function": rng.choice(FUNCTIONS),
            "starts": starts.isoformat(),
            "ends": ends.isoformat(),
            "headcount": rng.choice([0.5, 1, 1.5, 2, 3]),
            "status": rng.choices(
                ["proposed", "planned", "in_progress", "done", "dropped"], [20, 50, 20, 5, 5]
            )[0],
        }
        if rng.random() < 0.8:
            item["stage"] = rng.choice(stage_refs)
        if rng.random() < 0.5:
            item["segment"] = rng.choice(["smb", "enterprise"])
        if rng.random() < 0.3:
            item["impact"] = {side: rng.randint(-2, 2) for side in ("team", "business", "customer")}
        if rng.random() < 0.1:
            item["counter_measure"] = "Keep the old flow for a month"
        squad["initiatives"].append(item)
        refs.append((n * squads // initiatives, f"{squad['key']}/i{n}"))
    of_function: dict[str, list[str]] = {}
    for person in people:
        of_function.setdefault(person["function"], []).append(person["username"])
    deps = []
    for n in range(dependencies):
        needer = rng.randrange(len(refs) // 10, len(refs))
        needer_squad = refs[needer][0]
        dep: dict = {"key": f"d{n}"}
        dep["from"] = refs[needer][1] if rng.random() < 0.85 else f"s{needer_squad}"
        kind = rng.random()
        provider_squad = None
        if kind < 0.6:
            provider = rng.randrange(0, needer)
            provider_squad = refs[provider][0]
            if provider_squad == needer_squad and dep["from"] == refs[provider][1]:
                provider = max(0, provider - 1)
            dep["to"] = refs[provider][1]
        elif kind < 0.9:
            provider_squad = rng.randrange(0, max(1, needer_squad))
            dep["to"] = f"s{provider_squad}"
        else:
            dep["to_function"] = rng.choice(PROVIDER_FUNCTIONS)
        if dep.get("to") == dep["from"]:
            dep["to"] = f"s{(needer_squad + 1) % squads}"
            provider_squad = (needer_squad + 1) % squads
        dep.update(
            {
                "what": f"{rng.choice(THINGS).capitalize()} ready for the launch",
                "due": (CYCLE_START + dt.timedelta(days=rng.randrange(0, 330))).isoformat(),
                "blocking": rng.random() < 0.4,
                "status": rng.choices(
                    ["requested", "accepted", "at_risk", "done", "declined"], [30, 40, 10, 15, 5]
                )[0],
            }
        )
        if rng.random() < 0.7:
            if provider_squad is not None:
                dep["owner"] = rng.choice(members_of[provider_squad])
            elif of_function.get(dep["to_function"]):
                dep["owner"] = rng.choice(of_function[dep["to_function"]])
        if rng.random() < 0.2:
            dep["note"] = "Agreed in the planning session"
        deps.append(dep)
    return {
        "format": "planning-file/2",
        "cycles": [
            {"key": "fy2027", "name": "FY 2027", "starts": "2027-01-01", "ends": "2027-12-31"}
        ],
        "people": people,
        "capacity": [
            {"function": f, "cycle": "fy2027", "headcount": initiatives // 5} for f in FUNCTIONS
        ],
        "segments": [
            {"key": "smb", "name": "Small businesses", "priority": 2},
            {"key": "enterprise", "name": "Enterprise accounts", "priority": 1},
        ],
        "journeys": journeys,
        "squads": squad_docs,
        "dependencies": deps,
    }


# --- measuring, each in its own process --------------------------------------------------


def child_import(path: str) -> dict:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("import_plans", path, stdout=out)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "output": out.getvalue().strip(), "peak": _peak()}


# --- spreadsheets ------------------------------------------------------------------------


def spreadsheet_rows(
    kind: str,
    *,
    rows: int = 5000,
    prefix: str = "x",
    initiatives: int = 10_000,
    squads: int = 400,
    seed: int = SEED,
):
    """A header and `rows` rows of new initiatives (in 20 squads of the planning file) or
    new dependencies between the planning file's initiatives and squads."""
    rng = random.Random(f"{seed}-{kind}-{prefix}")
    if kind == "initiatives":
        header = ["squad", "key", "title", "description", "function", "stage", "segment"]
        header += ["starts", "ends", "headcount", "status"]
        body = []
        for n in range(rows):
            starts = CYCLE_START + dt.timedelta(days=rng.randrange(0, 240))
            thing, audience = rng.choice(THINGS), rng.choice(AUDIENCES)
            body.append(
                [
                    f"s{n % 20}",
                    f"{prefix}{n}",
                    f"{rng.choice(VERBS)} the {thing} for {audience}",
                    f"Imported from the {thing} spreadsheet, row {n + 2}.",
                    rng.choice(FUNCTIONS),
                    f"journey0/{rng.choice(STAGES)}" if rng.random() < 0.7 else "",
                    rng.choice(["smb", "enterprise", ""]),
                    starts,
                    starts + dt.timedelta(days=rng.randrange(30, 120)),
                    rng.choice([0.5, 1, 2]),
                    rng.choice(["proposed", "planned", "in_progress"]),
                ]
            )
        return header, body
    header = ["key", "needed_by", "provided_by", "to_function", "what", "due", "blocking"]
    header += ["note"]
    body = []
    for n in range(rows):
        per_squad = initiatives // squads
        needer = rng.randrange(initiatives // 10, initiatives)
        provider = rng.randrange(0, needer - per_squad)
        kind_of = rng.random()
        needed_by = f"s{needer // per_squad}"
        if kind_of < 0.8:
            needed_by += f"/i{needer}"
        provided_by, function = f"s{provider // per_squad}/i{provider}", ""
        if kind_of > 0.9:
            provided_by, function = "", rng.choice(PROVIDER_FUNCTIONS)
        elif kind_of > 0.7:
            provided_by = f"s{provider // per_squad}"
        body.append(
            [
                f"{prefix}d{n}",
                needed_by,
                provided_by,
                function,
                f"{rng.choice(THINGS).capitalize()} ready for the launch",
                CYCLE_START + dt.timedelta(days=rng.randrange(200, 330)),
                rng.choice(["yes", "no"]),
                "From the spreadsheet" if rng.random() < 0.3 else "",
            ]
        )
    return header, body


def write_xlsx(path: Path, title: str, header: list, body: list) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(header)
    for row in body:
        sheet.append(row)
    book.save(path)


def write_csv(path: Path, header: list, body: list) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in body:
            writer.writerow([v.isoformat() if isinstance(v, dt.date) else v for v in row])


def child_sheet(path: str) -> dict:
    """Upload (read, check, stage) and confirm (check again, write) as the import page."""
    import re

    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    upload = SimpleUploadedFile(Path(path).name, Path(path).read_bytes())
    started = time.perf_counter()
    response = client.post("/import/", {"file": upload})
    uploaded = time.perf_counter()
    body = response.content.decode()
    token = re.search(r'name="token" value="([^"]+)"', body)
    if response.status_code != 200 or token is None:
        checked = response.context.get("checked") if response.context else None
        problems = checked.problems[:5] if checked else response.context.get("error")
        raise SystemExit(f"upload answered {response.status_code}: {problems}")
    response = client.post("/import/confirm/", {"token": token.group(1)})
    confirmed = time.perf_counter()
    if response.status_code != 302:
        raise SystemExit(f"confirm answered {response.status_code}")
    message = [str(m) for m in response.wsgi_request._messages]
    return {
        "upload_s": uploaded - started,
        "confirm_s": confirmed - uploaded,
        "message": message[-1] if message else "",
        "peak": _peak(),
    }


# --- exports -----------------------------------------------------------------------------


def child_export(path: str) -> dict:
    """The board's export (`path` is csv or xlsx) through the Django test client: the time
    to the first piece of the body, to the last, and the process's peak memory."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dependencies.models import Dependency

    admin, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    client.get("/import/")  # a worker that has served a page: the URLs and views loaded
    rows = Dependency.objects.count()
    before = _peak()
    started = time.perf_counter()
    response = client.get(f"/board/export.{path}")
    size, first = 0, None
    for piece in response.streaming_content:
        if first is None and piece:
            first = time.perf_counter() - started
        size += len(piece)
    total = time.perf_counter() - started
    # Again under tracemalloc (slower): the most the Python heap grew while it was sent.
    import tracemalloc

    tracemalloc.start()
    for _piece in client.get(f"/board/export.{path}").streaming_content:
        pass
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "traced_peak": traced,
        "rows": rows,
        "first_byte_s": first,
        "total_s": total,
        "bytes": size,
        "peak": _peak(),
        "peak_before": before,
    }


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- driving it --------------------------------------------------------------------------


def run_child(url: str, *args: str) -> dict:
    return bench_review.run_child(url, *args, script=__file__)


def child(args: argparse.Namespace) -> None:
    setup_django()
    from django.conf import settings

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    out = CHILDREN[args.child](args.path)
    print("RESULT " + json.dumps(out))


CHILDREN: dict = {"import": child_import, "sheet": child_sheet, "export": child_export}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", action="store_true", help="write the block to the doc")
    parser.add_argument("--squads", type=int, default=400)
    parser.add_argument("--initiatives", type=int, default=10_000)
    parser.add_argument("--dependencies", type=int, default=30_000)
    parser.add_argument("--sheet-rows", type=int, default=5000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: the benchmark measures PostgreSQL.")
    original = connection.settings_dict["NAME"]
    bench_name = f"{original}_bench_import"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = bench_name
    print(f"Creating the throwaway database {bench_name} ...", file=sys.stderr)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    url = database_url_for(bench_name)
    results: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            document = planning_file(
                squads=args.squads, initiatives=args.initiatives, dependencies=args.dependencies
            )
            path = folder / "plans.json"
            path.write_text(json.dumps(document, indent=1))
            results["file_mib"] = path.stat().st_size / 2**20
            for label in ("first", "again"):
                print(f"import_plans ({label}) ...", file=sys.stderr)
                results[f"import_{label}"] = run_child(url, "--child=import", f"--path={path}")
                print(json.dumps(results[f"import_{label}"]), file=sys.stderr)
            # The exports read what the planning file made: every dependency of the cycle.
            for kind in ("csv", "xlsx"):
                print(f"export {kind} ...", file=sys.stderr)
                results[f"export_{kind}"] = run_child(url, "--child=export", f"--path={kind}")
                print(json.dumps(results[f"export_{kind}"]), file=sys.stderr)
            for fmt, prefix in (("xlsx", "x"), ("csv", "c")):
                for kind in ("initiatives", "dependencies"):
                    header, body = spreadsheet_rows(
                        kind,
                        rows=args.sheet_rows,
                        prefix=prefix,
                        initiatives=args.initiatives,
                        squads=args.squads,
                    )
                    sheet = folder / f"{kind}.{fmt}"
                    if fmt == "xlsx":
                        write_xlsx(sheet, kind.title(), header, body)
                    else:
                        write_csv(sheet, header, body)
                    label = f"sheet_{kind}_{fmt}"
                    print(f"spreadsheet {kind}.{fmt} ...", file=sys.stderr)
                    results[label] = run_child(url, "--child=sheet", f"--path={sheet}")
                    results[label]["file_kib"] = sheet.stat().st_size / 1024
                    print(json.dumps(results[label]), file=sys.stderr)
            # The same workbook again: every row checked, none written.
            sheet = folder / "initiatives.xlsx"
            print("spreadsheet initiatives.xlsx again ...", file=sys.stderr)
            results["sheet_again"] = run_child(url, "--child=sheet", f"--path={sheet}")
            print(json.dumps(results["sheet_again"]), file=sys.stderr)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            results["server"] = cursor.fetchone()[0].split()[0]
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    block = render(results, args)
    print(block)
    if args.doc:
        text = DOC.read_text()
        start, end = text.index(START) + len(START), text.index(END)
        DOC.write_text(text[:start] + "\n" + block + "\n" + text[end:])
        print(f"Wrote the figures to {DOC.relative_to(ROOT)}.", file=sys.stderr)


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def render(results: dict, args: argparse.Namespace) -> str:
    first, again = results["import_first"], results["import_again"]
    lines = [
        f"Measured on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} CPU(s), "
        f"Python {sys.version.split()[0]}, PostgreSQL {results['server']}; "
        f"`{' '.join(['scripts/bench_import_scale.py', *sys.argv[1:]])}`.",
        "",
        f"**Planning file** ({results['file_mib']:.1f} MiB: {args.squads:,} squads, "
        f"{args.initiatives:,} initiatives, {args.dependencies:,} dependencies), "
        "`manage.py import_plans`, each in a fresh process:",
        "",
        "| import | seconds | peak RSS | says |",
        "|---|---:|---:|---|",
        f"| into the empty database | **{first['seconds']:.1f}** | {_mib(first['peak'])} "
        f"| {first['output'].split(': ', 1)[1].split(';')[0]} |",
        f"| the same file again | **{again['seconds']:.1f}** | {_mib(again['peak'])} "
        f"| {again['output'].split(': ', 1)[1].split(';')[-1].strip()} |",
        "",
        f"**Spreadsheets** of {args.sheet_rows:,} rows through the import page (Django's test "
        "client, signed in as an administrator): the upload reads, checks and stages the "
        "file; the confirmation checks it again and writes it. Each is one web request.",
        "",
        "| file | size | upload s | confirm s | says |",
        "|---|---:|---:|---:|---|",
    ]
    for fmt in ("xlsx", "csv"):
        for kind in ("initiatives", "dependencies"):
            r = results[f"sheet_{kind}_{fmt}"]
            lines.append(
                f"| {kind}.{fmt} | {r['file_kib']:,.0f} KiB | **{r['upload_s']:.1f}** "
                f"| **{r['confirm_s']:.1f}** | {r['message'].split(': ', 1)[1]} |"
            )
    r = results["sheet_again"]
    lines.append(
        f"| initiatives.xlsx again | | {r['upload_s']:.1f} | {r['confirm_s']:.1f} "
        f"| {r['message'].split(': ', 1)[1]} |"
    )
    lines += [
        "",
        "**The board's downloads** of every dependency of the cycle (the planning file's), "
        "through the test client in a process that has served a page; peak RSS is the "
        "process's before the download and after it; heap peak is the most Python memory "
        "(tracemalloc) held while the same download was sent a second time:",
        "",
        "| download | rows | first byte s | total s | size | peak RSS before → after | heap peak |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for kind in ("csv", "xlsx"):
        r = results[f"export_{kind}"]
        lines.append(
            f"| export.{kind} | {r['rows']:,} | **{r['first_byte_s']:.2f}** "
            f"| {r['total_s']:.1f} | {r['bytes'] / 2**20:.1f} MiB "
            f"| {_mib(r['peak_before'])} → {_mib(r['peak'])} "
            f"| {r['traced_peak'] / 2**20:.1f} MiB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
