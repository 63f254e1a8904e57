"""Run every check the way CI does: lint, format, layers, migrations, then the whole suite.

Run by `make test` with the venv's Python; arguments are passed on to pytest.

PostgreSQL and Redis are used when they answer (TEST_DATABASE_URL / TEST_REDIS_URL, else
DATABASE_URL / REDIS_URL, else the local defaults below); when they don't, the suite runs on
SQLite and the tests marked `postgres`, `redis` or `celery` are skipped with the reason. With
CI=true a missing service is an error instead, so a green CI always means the full suite ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import dj_database_url
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/throughline"
# Database 15, so tests never touch the keys of a Redis used for development.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
PYTEST_NO_TESTS_COLLECTED = 5


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def first_set(*names: str, default: str) -> str:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return default


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at url can't host the test database, or None if it can."""
    db = dj_database_url.parse(url)
    if db["ENGINE"] != "django.db.backends.postgresql":
        return f"{url} is not a PostgreSQL URL"
    # The test database is created from the maintenance database, as Django does it, so
    # the database named in the URL need not exist yet.
    params = {
        "dbname": "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": 3,
    }
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {redact(url)} is not reachable: {str(exc).strip()}"


def redis_problem(url: str) -> str | None:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, ValueError) as exc:
        return f"Redis at {redact(url)} is not reachable: {exc}"
    return None


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{hostpart}"


def run(title: str, command: list[str], env: dict[str, str]) -> int:
    print(f"\n=== {title}: {' '.join(command)}", flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main(pytest_args: list[str]) -> int:
    ci = on_ci()
    database_url = first_set("TEST_DATABASE_URL", "DATABASE_URL", default=DEFAULT_DATABASE_URL)
    redis_url = first_set("TEST_REDIS_URL", "REDIS_URL", default=DEFAULT_REDIS_URL)
    pg_problem = postgres_problem(database_url)
    rd_problem = redis_problem(redis_url)

    if ci and (pg_problem or rd_problem):
        for problem in filter(None, [pg_problem, rd_problem]):
            print(f"error: {problem}", file=sys.stderr)
        print(
            "error: CI=true needs PostgreSQL and Redis so that no test is skipped; start them "
            "(or point TEST_DATABASE_URL / TEST_REDIS_URL at them) and run again.",
            file=sys.stderr,
        )
        return 2

    env = dict(os.environ)
    # A run's SQLite files, Celery broker folders and beat schedule stay out of var/.
    var_dir = tempfile.TemporaryDirectory(prefix="throughline-test-")
    env["THROUGHLINE_VAR_DIR"] = var_dir.name
    env.pop("CELERY_BROKER_URL", None)  # the broker follows REDIS_URL (or the filesystem)
    if pg_problem:
        env.pop("DATABASE_URL", None)
        print(f"note: {pg_problem}; using SQLite, tests marked 'postgres' will be skipped")
    else:
        env["DATABASE_URL"] = database_url
        print(f"PostgreSQL: {redact(database_url)} (tests create their own test_ database)")
    if rd_problem:
        env.pop("REDIS_URL", None)
        print(f"note: {rd_problem}; tests marked 'redis' and 'celery' will be skipped")
    else:
        env["REDIS_URL"] = redis_url
        print(f"Redis: {redact(redis_url)}")

    # The migration check compares models with migration files; it needs no real database.
    sqlite_env = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    python = sys.executable
    failed = []
    with var_dir:
        steps: list[tuple[str, list[str], dict[str, str]]] = [
            ("lint", [python, "-m", "ruff", "check", "."], env),
            ("format", [python, "-m", "ruff", "format", "--check", "."], env),
            # The layers (docs/architecture.md): an upward import fails here.
            ("layers", [str(Path(python).parent / "lint-imports")], sqlite_env),
            (
                "migrations",
                [python, "manage.py", "makemigrations", "--check", "--dry-run"],
                sqlite_env,
            ),
        ]
        for title, command, step_env in steps:
            if run(title, command, step_env) != 0:
                failed.append(title)

        code = run("tests", [python, "-m", "pytest", *pytest_args], env)
        if code == PYTEST_NO_TESTS_COLLECTED:
            print("error: pytest ran no tests, which counts as a failure", file=sys.stderr)
        if code != 0:
            failed.append("tests")

    if failed:
        print(f"\nmake test failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
