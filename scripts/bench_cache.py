"""Per-call cost of the Redis cache backend, in one process (docs/performance.md).

    .venv/bin/python scripts/bench_cache.py --redis-url redis://127.0.0.1:6379/13 \
        --body page.html

Compares Django's own Redis backend with the one the app uses (throughline/redis_cache.py,
django-redis) on the calls a request makes: a session read, a miss, a page body read and
written (compressed), the write limit's counter; and zlib's levels on the page body
(`--body`: a saved page; without it, a synthetic one). Keys go under a prefix of their
own and are deleted at the end; nothing else in the Redis database is touched.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--body", type=Path, help="a page's HTML (default: synthetic)")
    parser.add_argument("-n", type=int, default=3000, help="calls per measurement")
    args = parser.parse_args()
    settings.configure(USE_TZ=True)
    django.setup()

    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    from throughline.redis_cache import RedisCache

    timeouts = {"socket_connect_timeout": 2, "socket_timeout": 2}
    plain = DjangoRedisCache(args.redis_url, {"KEY_PREFIX": "bench-django", "OPTIONS": timeouts})
    ours = RedisCache(
        args.redis_url,
        {
            "KEY_PREFIX": "bench-ours",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                "COMPRESSOR": "throughline.redis_cache.ZlibCompressor",
            },
        },
    )
    if args.body:
        html = args.body.read_text()
    else:
        row = '<tr class="dep"><td><a href="/squads/s{0}/plan/">Squad {0}</a></td><td>{1}</td></tr>'
        html = "".join(row.format(i % 97, f"2027-0{1 + i % 9}-{10 + i % 18}") for i in range(1500))
    session = {
        "_auth_user_id": "123",
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": "a" * 64,
    }

    def per_call(fn, n=args.n) -> float:
        fn()
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            runs.append((time.perf_counter() - start) / n * 1e6)
        return min(runs)

    plain.set("session", session, 600)
    ours.set("session", session, 600)
    plain.set("page", zlib.compress(html.encode(), 1), 600)
    ours.set("page", html, 600)
    rows = [
        ("get session (hit)", lambda: plain.get("session"), lambda: ours.get("session")),
        ("get missing key", lambda: plain.get("nothing"), lambda: ours.get("nothing")),
        (
            "set session",
            lambda: plain.set("session", session, 600),
            lambda: ours.set("session", session, 600),
        ),
        (
            "get page body",
            lambda: zlib.decompress(plain.get("page")).decode(),
            lambda: ours.get("page"),
        ),
        (
            "set page body",
            lambda: plain.set("page", zlib.compress(html.encode(), 1), 600),
            lambda: ours.set("page", html, 600),
        ),
        (
            "write limit: add() + incr()",
            lambda: (plain.add("w", 0, 65), plain.incr("w")),
            lambda: (ours.add("w", 0, 65), ours.incr("w")),
        ),
        ("write limit: count()", None, lambda: ours.count("c", 60)),
    ]
    print(f"µs per call, best of 3 × {args.n}; page body {len(html.encode()) / 1024:.0f} KB")
    print("| call | Django's backend | throughline.redis_cache (django-redis) |\n|---|---:|---:|")
    for name, a, b in rows:
        cells = [f"{per_call(f):.0f}" if f else "" for f in (a, b)]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    body = html.encode()
    for level in (1, 6):
        size = len(zlib.compress(body, level)) / 1024
        took = per_call(lambda level=level: zlib.compress(body, level), 200)
        print(f"zlib level {level}: {len(body) / 1024:.0f} KB to {size:.1f} KB in {took:.0f} µs")
    plain.delete_many(["session", "page", "w"])
    ours.delete_many(["session", "page", "w", "c"])


if __name__ == "__main__":
    main()
