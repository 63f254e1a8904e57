"""Benchmark the review: generate an organisation of a given size, review it, time it.

    .venv/bin/python scripts/bench_review.py                      # 10,000 initiatives, 30,000 deps
    .venv/bin/python scripts/bench_review.py --sizes 1000,2000,5000,10000,20000

Runs against the database DATABASE_URL names (SQLite under var/ without it), but never
touches its data: it creates a throwaway database beside it (`<name>_bench`), migrates it,
and drops it at the end. Each size runs in two fresh processes, one that generates and
commits the organisation and one that reviews it, so the reviewing process's peak resident
memory (ru_maxrss) is the review's own, Python and Django included.

For each size it reports the review split into its parts: loading the snapshot, running the
rules (overlap detection separately), and storing the findings, for the first run (every
finding new) and a second run (the steady state: the periodic review of an unchanged plan).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ["Product", "Engineering", "Marketing", "Sales", "Customer Success", "Operations"]
STAGES = [
    "awareness",
    "acquisition",
    "onboarding",
    "adoption",
    "support",
    "expansion",
    "renewal",
    "advocacy",
]
VERBS = ["Launch", "Improve", "Build", "Automate", "Redesign", "Scale", "Pilot", "Measure"]
THINGS = [
    "onboarding program",
    "pricing page",
    "in-app guide",
    "renewal playbook",
    "referral scheme",
    "health score",
    "billing portal",
    "usage dashboard",
    "webinar series",
    "partner directory",
    "trial experience",
    "support chatbot",
    "data export",
    "SSO integration",
    "mobile app",
    "API documentation",
]
AUDIENCES = ["new customers", "enterprise accounts", "trial users", "admins", "partners"]
CYCLE_START = dt.date(2027, 1, 1)
CYCLE_END = dt.date(2027, 12, 31)
TODAY = dt.date(2027, 5, 1)  # mid-cycle: some work started, some dependencies late


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")
    import django

    django.setup()


# --- generating an organisation ----------------------------------------------------------


def generate(
    initiatives: int,
    dependencies: int,
    seed: int,
    *,
    squads: int | None = None,
    people: int | None = None,
    password: str = "!",
) -> dict:
    """Create one cycle with `initiatives` initiatives and `dependencies` dependencies.

    By default in initiatives/10 squads, from three people per squad; `squads` and `people`
    choose other counts (scripts/bench.py). `password` is every account's stored password
    hash: "!" is unusable, a make_password() hash lets them all sign in.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from core.models import Capacity, Cycle, Profile
    from dependencies.models import Dependency
    from journeys.models import Journey, Stage
    from squads.models import OKR, Initiative, KeyResult, Membership, Squad, SquadStage

    rng = random.Random(seed)
    user_model = get_user_model()
    n_squads = squads or max(4, initiatives // 10)
    n_people = people or n_squads * 3
    started = time.perf_counter()
    with transaction.atomic():
        cycle = Cycle.objects.create(key="bench", name="Bench", starts=CYCLE_START, ends=CYCLE_END)
        journey = Journey.objects.create(key="bench", name="Bench journey")
        stages = Stage.objects.bulk_create(
            Stage(
                journey=journey,
                key=key,
                name=key.title(),
                position=n,
                customer_goal="Goal",
                today="Today",
                tomorrow="Tomorrow",
                emotion_today=-1,
                emotion_target=1,
            )
            for n, key in enumerate(STAGES)
        )
        people = user_model.objects.bulk_create(
            (
                user_model(username=f"p{n}", email=f"p{n}@example.com", password=password)
                for n in range(n_people)
            ),
            batch_size=5000,
        )
        Profile.objects.bulk_create(
            Profile(user=p, display_name=f"Person {n}", function=rng.choice(FUNCTIONS))
            for n, p in enumerate(people)
        )
        teams = Squad.objects.bulk_create(
            Squad(key=f"s{n}", name=f"Squad {n}", cycle=cycle, dri=people[n % n_people])
            for n in range(n_squads)
        )
        memberships = []
        for n, squad in enumerate(teams):
            team = {n % n_people} | {rng.randrange(n_people) for _ in range(4)}
            memberships += [
                Membership(squad=squad, person=people[p], function=rng.choice(FUNCTIONS))
                for p in sorted(team)
            ]
        Membership.objects.bulk_create(memberships, batch_size=5000)
        SquadStage.objects.bulk_create(
            (
                SquadStage(squad=squad, stage=stage)
                for squad in teams
                # The last two stages stay unowned: a gap the review must find.
                for stage in rng.sample(stages[:6], rng.randint(1, 2))
            ),
            batch_size=5000,
        )
        okrs = OKR.objects.bulk_create(
            OKR(squad=s, cycle=cycle, objective="Customers succeed") for s in teams
        )
        KeyResult.objects.bulk_create(
            (
                KeyResult(
                    okr=okr,
                    key=f"kr{k}",
                    name=f"Key result {k}",
                    baseline=Decimal(10),
                    target=None if rng.random() < 0.05 else Decimal(20),
                )
                for okr in okrs
                for k in range(2)
            ),
            batch_size=5000,
        )
        planned: dict[str, Decimal] = dict.fromkeys(FUNCTIONS, Decimal(0))
        rows = []
        for n in range(initiatives):
            starts = CYCLE_START + dt.timedelta(days=rng.randrange(0, 240))
            ends = min(starts + dt.timedelta(days=rng.randrange(30, 150)), CYCLE_END)
            function = rng.choice(FUNCTIONS)
            headcount = Decimal(rng.choice(["0.5", "1", "1.5", "2", "3"]))
            status = rng.choices(
                ["proposed", "planned", "in_progress", "done", "dropped"], [20, 50, 20, 5, 5]
            )[0]
            if status != "dropped":
                planned[function] += headcount
            thing, audience = rng.choice(THINGS), rng.choice(AUDIENCES)
            rows.append(
                Initiative(
                    squad=teams[n // 10 % n_squads],
                    key=f"i{n}",
                    title=f"{rng.choice(VERBS)} the {thing} for {audience}",
                    description=(
                        f"Work on the {thing} so that {audience} reach value sooner; "
                        f"initiative {n} of the bench organisation."
                    ),
                    function=function,
                    stage=rng.choice(stages),
                    starts=starts,
                    ends=ends,
                    headcount=headcount,
                    status=status,
                )
            )
        inits = Initiative.objects.bulk_create(rows, batch_size=5000)
        Capacity.objects.bulk_create(
            Capacity(
                cycle=cycle,
                function=function,
                headcount=(total * Decimal(rng.uniform(0.9, 1.2))).quantize(Decimal("0.01")),
            )
            for function, total in planned.items()
        )

        # Providers come "earlier" than the work that needs them (initiative n ranks n, a
        # squad ranks as its first initiative), so the graph is acyclic, as plans mostly
        # are; every 1,000th dependency closes a small loop back, which the review reports.
        deps: list[Dependency] = []
        for n in range(dependencies):
            if n % 1000 == 999 and deps:
                back = next(d for d in reversed(deps) if not d.to_function)
                back.blocking, back.status = True, "accepted"
                deps.append(
                    Dependency(
                        key=f"d{n}",
                        from_squad=back.to_squad,
                        from_initiative=back.to_initiative,
                        to_squad=back.from_squad if back.from_initiative is None else None,
                        to_initiative=back.from_initiative,
                        what="Sign-off on the shared plan",
                        due=back.due,
                        blocking=True,
                        status="accepted",
                    )
                )
                continue
            needer = rng.randrange(10, initiatives)
            values: dict = {}
            if rng.random() < 0.85:
                values["from_initiative"] = inits[needer]
            else:
                values["from_squad"] = teams[needer // 10 % n_squads]
                needer = needer // 10 * 10
            kind = rng.random()
            if kind < 0.6:
                values["to_initiative"] = inits[rng.randrange(0, needer)]
            elif kind < 0.9 and needer >= 10:
                values["to_squad"] = teams[rng.randrange(0, needer // 10) % n_squads]
            else:
                values["to_function"] = rng.choice(["People", "Legal", "Finance", "IT"])
            deps.append(
                Dependency(
                    key=f"d{n}",
                    what=f"{rng.choice(THINGS).capitalize()} ready for the launch",
                    due=CYCLE_START + dt.timedelta(days=rng.randrange(0, 330)),
                    blocking=rng.random() < 0.4,
                    status=rng.choices(
                        ["requested", "accepted", "at_risk", "done", "declined"],
                        [30, 40, 10, 15, 5],
                    )[0],
                    owner=people[rng.randrange(n_people)] if rng.random() < 0.7 else None,
                    **values,
                )
            )
        Dependency.objects.bulk_create(deps, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "initiatives": initiatives,
        "dependencies": dependencies,
        "squads": n_squads,
        "people": n_people,
        "generate_s": round(time.perf_counter() - started, 2),
    }


# --- measuring ---------------------------------------------------------------------------


def measure(with_tracemalloc: bool) -> dict:
    from django.db import transaction

    from core.models import Cycle
    from planning import review as review_module
    from planning.models import Finding
    from planning.services import findings_store, review_lock, review_run
    from planning.snapshot import snapshot_for_cycle
    from planning.tasks import review_warm_up

    cycle = Cycle.objects.get(key="bench")
    result: dict = {}
    # A worker loads the overlap model when it starts (tasks.review_warm_up), not during
    # a review: do the same, and report how long it took.
    t0 = time.perf_counter()
    review_warm_up()
    result["warm_up_s"] = round(time.perf_counter() - t0, 2)
    rules = list(review_module.RULES)
    for label in ("first", "again"):
        spent: dict[str, float] = {}
        review_module.RULES = [_timed(rule, spent) for rule in rules]
        with transaction.atomic():
            t0 = time.perf_counter()
            review_lock(cycle)
            snapshot = snapshot_for_cycle(cycle)
            t1 = time.perf_counter()
            findings = review_module.review(snapshot, TODAY)
            t2 = time.perf_counter()
            outcome = findings_store(cycle=cycle, snapshot=snapshot, findings=findings)
            t3 = time.perf_counter()
        review_module.RULES = rules
        overlap = spent.get("rule_similar_initiatives", 0.0)
        timings = {
            "snapshot_s": t1 - t0,
            "rules_s": t2 - t1 - overlap,
            "overlap_s": overlap,
            "store_s": t3 - t2,
            "total_s": t3 - t0,
            "findings": len(findings),
            "new": outcome.new,
            "slowest_rule": max(
                (name for name in spent if name != "rule_similar_initiatives"),
                key=spent.__getitem__,
            ),
        }
        result[label] = {k: round(v, 3) if isinstance(v, float) else v for k, v in timings.items()}
    # The service end to end, as the task runs it (steady state).
    t0 = time.perf_counter()
    run = review_run(cycle=cycle, today=TODAY, trigger="bench")
    result["service_s"] = round(time.perf_counter() - t0, 3)
    assert run.status == "done"
    result["stored"] = Finding.objects.filter(cycle=cycle).count()
    result["by_rule"] = {}
    for finding in run.findings:
        result["by_rule"][finding.rule] = result["by_rule"].get(finding.rule, 0) + 1
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if with_tracemalloc:
        import tracemalloc

        tracemalloc.start()
        with transaction.atomic():
            snapshot = snapshot_for_cycle(cycle)
            findings = review_module.review(snapshot, TODAY)
            transaction.set_rollback(True)
        result["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    return result


def _timed(rule, spent: dict[str, float]):
    def timed(snapshot, today):
        started = time.perf_counter()
        try:
            return rule(snapshot, today)
        finally:
            spent[rule.__name__] = time.perf_counter() - started

    return timed


# --- driving it --------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    setup_django()
    from django.conf import settings

    # Thousands of notification emails are not what is being measured.
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
    if args.child == "generate":
        out = generate(args.initiatives, args.dependencies, args.seed)
    else:
        out = measure(args.tracemalloc)
    print("RESULT " + json.dumps(out))


def database_url_for(name: str) -> str:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    url = urlsplit(settings.DATABASE_URL)
    return urlunsplit(url._replace(path="/" + quote(name, safe="")))


def run_child(url: str, *args: str, script: str = __file__) -> dict:
    """Run `script` (this one by default) in a fresh process on the database at `url` and
    return the JSON of its last "RESULT " line."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "", "CELERY_BROKER_URL": "memory://"}
    done = subprocess.run(
        [sys.executable, script, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            db = f"SQLite {connection.Database.sqlite_version}"
    return f"{os.cpu_count()} CPU(s), {cpu}; Python {sys.version.split()[0]}; {db}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="initiative counts, comma-separated")
    parser.add_argument("--deps-per-initiative", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python memory")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--initiatives", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dependencies", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    original = connection.settings_dict["NAME"]
    bench_name = f"{Path(str(original)).stem if connection.vendor == 'sqlite' else original}_bench"
    if connection.vendor == "sqlite":
        bench_name = str(Path(str(original)).with_name(f"{bench_name}.sqlite3"))
    connection.settings_dict.setdefault("TEST", {})["NAME"] = bench_name
    print(f"Creating the throwaway database {bench_name} ...", file=sys.stderr)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    url = database_url_for(bench_name)
    results = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            call_command("flush", interactive=False, verbosity=0)
            deps = size * args.deps_per_initiative
            print(f"{size} initiatives, {deps} dependencies ...", file=sys.stderr)
            made = run_child(
                url,
                "--child=generate",
                f"--initiatives={size}",
                f"--dependencies={deps}",
                f"--seed={args.seed}",
            )
            measured = run_child(
                url, "--child=measure", *(["--tracemalloc"] if args.tracemalloc else [])
            )
            results.append({**made, **measured})
            print(json.dumps(results[-1]), file=sys.stderr)
        about = machine()
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    if args.json:
        print(json.dumps({"machine": about, "results": results}, indent=2))
        return
    print(f"Machine: {about}; review judged on {TODAY.isoformat()}\n")
    print(
        "Each cell: first run (every finding new) / second run (steady state). Loading the "
        "overlap model, once per process: "
        + ", ".join(f"{r['warm_up_s']:.1f} s" for r in results)
        + ".\n"
    )
    print(
        "| initiatives | dependencies | findings | snapshot s | rules s | overlap s | "
        "store s | review s | peak RSS MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        first, again = r["first"], r["again"]

        def both(key: str, first=first, again=again) -> str:
            return f"{first[key]:.2f} / {again[key]:.2f}"

        print(
            f"| {r['initiatives']:,} | {r['dependencies']:,} | {first['findings']:,} | "
            f"{both('snapshot_s')} | {both('rules_s')} | {both('overlap_s')} | "
            f"{both('store_s')} | {both('total_s')} | {r['max_rss_mib']:.0f} |"
        )
    for r in results:
        if "tracemalloc_peak_mib" in r:
            print(
                f"\n{r['initiatives']:,} initiatives: the Python heap peaked at "
                f"{r['tracemalloc_peak_mib']:.0f} MiB during one review (tracemalloc)."
            )


if __name__ == "__main__":
    main()
