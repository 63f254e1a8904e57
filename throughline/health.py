"""`/health/` and `/ready/`: what a load balancer, Compose or an operator asks before sending
people to this process.

- `/health/`: the process answers (200, nothing else is touched).
- `/ready/`: it can serve: the database answers, its migrations are all applied, the cache's
  Redis and the Celery broker answer. 200 when all do, 503 otherwise, with each check's
  result. Each check runs in a thread of its own and is given READY_TIMEOUT_MS in all; a
  check still running then counts as failed, and while it hangs on the next probes are
  answered at once rather than queued behind it, so a hung Redis holds no web worker.

Both answer anyone, signed in or not, and say nothing secret: a failure is named by the
error's type, never by its message (which could hold an address with a password).

`OperationsMiddleware` answers them and /metrics ahead of the host name check (ALLOWED_HOSTS)
and the redirect to HTTPS, which are for people's browsers: an orchestrator's probe or a
Prometheus scrape asks a replica by its address inside the network, over plain HTTP. None of
the three builds an address from the request's host.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import resolve
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

Result = dict[str, object]


def _database() -> Result:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


_migrations_applied = False


def _migrations() -> Result:
    global _migrations_applied
    # Once applied they stay so for this process's life: the files are read once, not at
    # every probe.
    if _migrations_applied:
        return {"ok": True}
    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return {"ok": False, "detail": f"{len(plan)} migrations not applied"}
    _migrations_applied = True
    return {"ok": True}


@cache
def _redis_client(url: str):
    import redis

    timeout = settings.READY_TIMEOUT_MS / 1000
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def _redis() -> Result:
    if not settings.REDIS_URL:
        return {"ok": True, "detail": "not used: the cache is in this process's memory"}
    _redis_client(settings.REDIS_URL).ping()
    return {"ok": True}


def _broker() -> Result:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        _redis_client(url).ping()
        return {"ok": True}
    if url.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.access(folder, os.W_OK):
            return {"ok": False, "detail": "the broker's folder cannot be written"}
        return {"ok": True}
    from kombu import Connection

    with Connection(url, connect_timeout=settings.READY_TIMEOUT_MS / 1000) as conn:
        conn.ensure_connection(max_retries=1)
    return {"ok": True}


def _uses_database(check: Callable[[], Result]) -> Callable[[], Result]:
    def run() -> Result:
        try:
            return check()
        finally:
            # The connection is this thread's: give it back (to the pool) before it ends.
            connections["default"].close()

    run.__name__ = check.__name__
    return run


CHECKS: dict[str, Callable[[], Result]] = {
    "database": _uses_database(_database),
    "migrations": _uses_database(_migrations),
    "redis": _redis,
    "broker": _broker,
}

_running: dict[str, threading.Thread] = {}
_running_lock = threading.Lock()


def _timed(check: Callable[[], Result], into: dict[str, Result]) -> None:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:
        result = {"ok": False, "detail": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    into["result"] = result


def run_checks(checks: dict[str, Callable[[], Result]], timeout: float) -> dict[str, Result]:
    """Each check's result, within `timeout` seconds whatever the checks do."""
    started: dict[str, tuple[threading.Thread, dict[str, Result]]] = {}
    results: dict[str, Result] = {}
    for name, check in checks.items():
        with _running_lock:
            previous = _running.get(name)
            if previous is not None and previous.is_alive():
                results[name] = {"ok": False, "detail": "the previous check has not answered yet"}
                continue
            box: dict[str, Result] = {}
            thread = threading.Thread(
                target=_timed, args=(check, box), name=f"ready-{name}", daemon=True
            )
            _running[name] = thread
        thread.start()
        started[name] = (thread, box)
    deadline = time.monotonic() + timeout
    for name, (thread, box) in started.items():
        thread.join(max(deadline - time.monotonic(), 0))
        results[name] = box.get("result") or {
            "ok": False,
            "detail": f"no answer within {timeout * 1000:.0f} ms",
        }
    return {name: results[name] for name in checks}


@login_not_required
@require_safe
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@login_not_required
@require_safe
@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    results = run_checks(CHECKS, settings.READY_TIMEOUT_MS / 1000)
    ok = all(result["ok"] for result in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503
    )


class OperationsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in OPERATIONS_PATHS:
            return self.get_response(request)
        from throughline.metrics import request_observe

        started = time.perf_counter()
        request.resolver_match = match = resolve(request.path_info)
        response = match.func(request, *match.args, **match.kwargs)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        request_observe(request, response, started)
        return response


OPERATIONS_PATHS = frozenset({"/health/", "/ready/", "/metrics"})
