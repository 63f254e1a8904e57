"""Prometheus metrics: what `/metrics` answers, and who may ask.

- `throughline_http_request_duration_seconds` (histogram): each request's time in the app,
  by route name (`board:board`; `unmatched` for an address no route has), method and status
  class (`2xx` ... `5xx`). Measured by `RequestMetricsMiddleware`.
- `throughline_review_duration_seconds` (histogram): each run of the review, from its start
  to its end as its row records them (planning.services.review_run), by trigger and outcome.
  Observed in the process that ran it: the Celery worker (see `start_worker_server`), or a web
  worker when "Run now" ran it in the request.
- `throughline_findings_open` (gauge): the open findings of each cycle that has not ended,
  by kind, counted in the database when scraped (one indexed query, cut off after
  METRICS_QUERY_TIMEOUT_MS on PostgreSQL).
- `throughline_celery_queue_length` (gauge): tasks waiting in the broker's queue (the Redis
  list's length), read when scraped.
- `throughline_metrics_scrape_error` (gauge): 1 for a scrape-time reading that failed.

Under gunicorn every worker process counts its own requests: with PROMETHEUS_MULTIPROC_DIR
set (throughline/gunicorn.py sets it), prometheus_client writes each process's values to
files there and `/metrics`, whichever worker answers it, adds them all up.

Access (METRICS_TOKEN, METRICS_ALLOWED_IPS): refused unless one of them lets the request in,
a bearer token equal to METRICS_TOKEN or an address in METRICS_ALLOWED_IPS.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection, transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

REQUEST_DURATION = Histogram(
    "throughline_http_request_duration_seconds",
    "Time the app took to answer a request, by route name, method and status class.",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REVIEW_DURATION = Histogram(
    "throughline_review_duration_seconds",
    "Time one run of the review took, by trigger and outcome (done, failed).",
    ["trigger", "status"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

# Any other method counts as "other": a client cannot grow the label set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REFUSED = (
    "Metrics are refused: send the bearer token METRICS_TOKEN, or ask from an address in "
    "METRICS_ALLOWED_IPS.\n"
)


# --- measuring --------------------------------------------------------------------------


class RequestMetricsMiddleware:
    """Times every request that reaches the app (static files are served before it)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        request_observe(request, response, started)
        return response


def request_observe(request: HttpRequest, response: HttpResponse, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    method = request.method if request.method in METHODS else "other"
    REQUEST_DURATION.labels(
        match.view_name if match is not None else "unmatched",
        method,
        f"{response.status_code // 100}xx",
    ).observe(time.perf_counter() - started)


def review_finished(sender, instance, update_fields=None, **kwargs) -> None:
    """post_save of a ReviewRun: a run that has just ended is timed once it commits."""
    if instance.finished_at is None or update_fields is None or "status" not in update_fields:
        return
    seconds = max((instance.finished_at - instance.started_at).total_seconds(), 0.0)
    trigger, status = instance.trigger, instance.status

    def observe() -> None:
        REVIEW_DURATION.labels(trigger, status).observe(seconds)

    # A run marked done inside the review's transaction is only done once that commits; one
    # marked failed is saved after the rollback, outside any transaction, so at once.
    transaction.on_commit(observe, robust=True)


# --- reading when scraped ------------------------------------------------------------------


class ScrapeTimeCollector(Collector):
    """The gauges read when scraped: open findings and the queue's length."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        errors = GaugeMetricFamily(
            "throughline_metrics_scrape_error",
            "1 when a reading taken at scrape time failed (it is then left out).",
            labels=["reading"],
        )
        for reading in (self._findings, self._queue):
            try:
                yield reading()
                errors.add_metric([reading.__name__.strip("_")], 0)
            except Exception as exc:
                logger.warning("Metrics: %s failed: %s", reading.__name__, type(exc).__name__)
                errors.add_metric([reading.__name__.strip("_")], 1)
        yield errors

    @staticmethod
    def _findings() -> GaugeMetricFamily:
        from planning.models import Finding

        gauge = GaugeMetricFamily(
            "throughline_findings_open",
            "Open findings of each cycle that has not ended, by kind.",
            labels=["cycle", "kind"],
        )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true)",
                        [str(settings.METRICS_QUERY_TIMEOUT_MS)],
                    )
            rows = (
                Finding.objects.filter(
                    state=Finding.State.OPEN, cycle__ends__gte=timezone.localdate()
                )
                .values_list("cycle__key", "kind")
                .annotate(count=Count("pk"))
                .order_by()
            )
            counts = {(key, kind): n for key, kind, n in rows}
        for key in sorted({key for key, _ in counts}):
            for kind in Finding.Kind.values:
                gauge.add_metric([key, kind], counts.get((key, kind), 0))
        return gauge

    @staticmethod
    def _queue() -> GaugeMetricFamily:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        gauge = GaugeMetricFamily(
            "throughline_celery_queue_length",
            "Tasks waiting in the broker's queue for a worker.",
            labels=["queue"],
        )
        client = broker_redis()
        if client is not None:
            gauge.add_metric([queue], client.llen(queue))
        return gauge


@cache
def broker_redis():
    """A Redis client on the broker, failing within a second; None for another broker."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def registry(*, scrape_time: bool = True) -> CollectorRegistry:
    """Every process's values (in multiprocess mode) or this one's; the scrape-time gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape = CollectorRegistry()
        scrape.register(_ProcessValues())
    if scrape_time:
        scrape.register(ScrapeTimeCollector())
    return scrape


class _ProcessValues(Collector):
    """This process's own metrics (the default registry), for a single-process server."""

    def collect(self):
        yield from REGISTRY.collect()


# --- who may read them ------------------------------------------------------------------


def allowed(authorization: str, address: str) -> bool:
    """The bearer token METRICS_TOKEN, or an address within METRICS_ALLOWED_IPS."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    networks = _networks(tuple(settings.METRICS_ALLOWED_IPS))
    if networks:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)
    return False


@cache
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


@login_not_required
@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request.headers.get("Authorization", ""), request.META.get("REMOTE_ADDR", "")):
        return HttpResponse(REFUSED, status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


# --- the Celery worker's own /metrics -------------------------------------------------------


def start_worker_server(port: int) -> None:
    """Serve this worker's metrics (the review's duration, from every pool process) on
    `port`, in a thread of the worker's main process, with the same access rule as /metrics.
    The gauges read at scrape time are left to the web's /metrics."""
    import socketserver
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    def app(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found: ask for /metrics\n"]
        if not allowed(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR", "")):
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [REFUSED.encode()]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [generate_latest(registry(scrape_time=False))]

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args) -> None:  # noqa: A002 - the parent's name
            pass

    server = make_server("", port, app, server_class=Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("Serving the worker's metrics on port %s", port)
