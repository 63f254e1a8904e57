"""The Redis cache: django-redis, with two small additions whose reasons were measured.

django-redis keeps one `redis.Redis` client per server and a connection pool per process
(Django's own backend built a new client for every call, about the cost of the round trip
itself: docs/performance.md), and compresses what it stores (the page bodies, mostly
markup: a plan page's 125 KB in 13 KB).
"""

from __future__ import annotations

from django_redis.cache import RedisCache as _RedisCache
from django_redis.compressors.zlib import ZlibCompressor as _ZlibCompressor


class ZlibCompressor(_ZlibCompressor):
    """zlib at level 1 rather than django-redis's 6. On the plan page's 125 KB body,
    level 1 compresses in 0.3 ms to 13 KB, level 6 in 1.2 ms to 11 KB; every cache miss
    pays it, so the few kilobytes are not worth it. Values of up to 15 bytes are stored
    as they are, as django-redis does."""

    preset = 1


class RedisCache(_RedisCache):
    def count(self, key: str, timeout: int) -> int:
        """Add one to a counter that lives `timeout` seconds from its first count, in one
        round trip: the write limit's counter on every save (add() and incr() take two,
        and incr() a Lua script)."""
        client = self.client
        key = client.make_key(key)
        pipeline = client.get_client(write=True).pipeline(transaction=True)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return pipeline.execute()[-1]
