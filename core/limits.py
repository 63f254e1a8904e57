"""The per-person write limit, shared by the pages (throughline.middleware) and the API, and
the tighter per-person limit on invitations, each of which sends an email to someone outside.

Fixed windows aligned to the clock, one cache counter per person and window. When the cache
is unreachable the write goes through: the limit is a safeguard, not a gate that may take the
whole app down with it.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOO_MANY_WRITES = (
    "You are saving changes faster than Throughline allows ({limit} in {window}). "
    "Nothing was saved this time; try again in {wait}."
)
TOO_MANY_INVITATIONS = (
    "You have sent as many invitations as Throughline allows ({limit} in {window}). "
    "Nothing was sent this time; try again in {wait}."
)


def changes_nothing(view):
    """Mark a view that answers a POST without changing anything (one that posts a draft
    too long for an address, to compare it, say): the write limit does not count it."""
    view.changes_nothing = True
    return view


def _clock() -> float:
    return time.time()


def _human_seconds(seconds: int) -> str:
    if seconds >= 120:
        return f"{math.ceil(seconds / 60)} minutes"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def _hit(key: str, window: int) -> int | None:
    try:
        if hasattr(cache, "count"):  # throughline.redis_cache: one round trip
            return cache.count(key, timeout=window + 5)
        # add() is a no-op when the counter exists; incr() is atomic on Redis.
        cache.add(key, 0, timeout=window + 5)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=window + 5)
            return 1
    except Exception:  # any cache failure: let the write through
        logger.warning("write rate limit skipped: the cache is unreachable", exc_info=True)
        return None


def _over(user, *, prefix: str, limit: int, window: int, message: str) -> tuple[int, str] | None:
    """Count one action by this person in the current window of `window` seconds; past
    `limit`, the seconds until the window ends and the message, filled in."""
    if limit <= 0:
        return None
    window = max(1, window)
    now = _clock()
    slot = int(now // window)
    count = _hit(f"{prefix}:{user.pk}:{window}:{slot}", window)
    if count is None or count <= limit:
        return None
    wait = max(1, math.ceil((slot + 1) * window - now))
    return wait, message.format(
        limit=limit, window=_human_seconds(window), wait=_human_seconds(wait)
    )


def over_write_limit(user) -> tuple[int, str] | None:
    """Count one write by this person; past WRITE_RATE_LIMIT in the current window, the
    seconds until the window ends and the message to show. Pages (through the middleware)
    and the API's token-authenticated writes share the same counter."""
    return _over(
        user,
        prefix=settings.WRITE_RATE_LIMIT_KEY_PREFIX,
        limit=settings.WRITE_RATE_LIMIT,
        window=settings.WRITE_RATE_LIMIT_WINDOW,
        message=TOO_MANY_WRITES,
    )


def over_invitation_limit(user) -> tuple[int, str] | None:
    """Count one invitation sent (or sent again) by this person; past INVITATION_RATE_LIMIT
    in the current window of INVITATION_RATE_LIMIT_WINDOW seconds, the wait and the message.
    Each one emails an address outside the app, so it is held far below the write limit."""
    return _over(
        user,
        prefix=f"{settings.WRITE_RATE_LIMIT_KEY_PREFIX}:invitations",
        limit=settings.INVITATION_RATE_LIMIT,
        window=settings.INVITATION_RATE_LIMIT_WINDOW,
        message=TOO_MANY_INVITATIONS,
    )
