"""The Redis cache: django-redis, with two small additions whose reasons were measured.

django-redis keeps one `redis.Redis` client per server and a connection pool per process
(Django's own backend built a new client for every call, about the cost of the round trip
itself: docs/performance.md), and compresses what it stores (the page bodies, mostly
markup: a plan page's 123 KB in 12.5 KB). Figures: docs/performance.md, "The cache backend".
"""

from __future__ import annotations

from django_redis.cache import RedisCache as _RedisCache
from django_redis.compressors.zlib import ZlibCompressor as _ZlibCompressor


class ZlibCompressor(_ZlibCompressor):
    """zlib at level 1 rather than django-redis's 6: a plan page's 123 KB body compresses
    in 0.2-0.4 ms to 12.5 KB at level 1, in 0.74-1.1 ms to 9.4 KB at level 6, and every
    cache miss pays it (scripts/bench_cache.py). Values of up to 15 bytes are stored as
    they are, as django-redis does."""

    preset = 1


class RedisCache(_RedisCache):
    def count(self, key: str, timeout: int) -> int:
        """Add one to a counter that lives `timeout` seconds from its first count, in one
        round trip: the write limit's counter on every write. Measured 84-96 µs against
        126-214 µs for django-redis's add() and incr(), two round trips and a Lua script
        (scripts/bench_cache.py)."""
        client = self.client
        key = client.make_key(key)
        pipeline = client.get_client(write=True).pipeline(transaction=True)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return pipeline.execute()[-1]
