"""The production shape end to end: PostgreSQL, Redis and a real Celery worker process."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django_redis.cache import RedisCache
from psycopg_pool import ConnectionPool

from core.models import Cycle
from planning.models import ReviewRun
from planning.tasks import review_cycle
from throughline.celery import app

TASK_TIMEOUT = 30.0


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery
def test_a_review_enqueued_through_redis_is_run_by_the_worker(celery_worker_process):
    cycle = Cycle.objects.create(
        key="fy2027", name="FY2027", starts=date(2027, 1, 1), ends=date(2027, 12, 31)
    )

    review_cycle.delay(cycle.pk, "test")

    deadline = time.monotonic() + TASK_TIMEOUT
    runs = ReviewRun.objects.filter(cycle=cycle, status=ReviewRun.Status.DONE, trigger="test")
    while not runs.exists():
        assert celery_worker_process.process.poll() is None, "the worker died"
        assert time.monotonic() < deadline, (
            f"no finished ReviewRun after {TASK_TIMEOUT:.0f}s; worker log:\n"
            + celery_worker_process.output()
        )
        time.sleep(0.2)
    run = runs.get()
    assert run.finished_at is not None
    assert "Task planning.tasks.review_cycle[" in celery_worker_process.output()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db
def test_database_url_and_redis_url_put_the_app_on_postgresql_and_redis():
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["OPTIONS"]["pool"]["max_size"] >= 1
    connection.ensure_connection()
    assert isinstance(connection.pool, ConnectionPool)

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    key, value = f"roundtrip-{uuid.uuid4().hex}", {"squad": "first-90-days"}
    cache.set(key, value, timeout=60)
    try:
        assert cache.get(key) == value
        # Stored in the Redis server itself, not in this process.
        assert redis.Redis.from_url(settings.REDIS_URL).exists(cache.make_key(key)) == 1
    finally:
        cache.delete(key)

    assert app.conf.broker_url == settings.REDIS_URL
