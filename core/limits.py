"""The per-person write limit, shared by the pages (throughline.middleware) and the API, the
tighter per-person limit on invitations, each of which sends an email to someone outside, and
the limit on two-factor codes tried (core/two_factor.py).

Fixed windows aligned to the clock, one cache counter per person and window. When the cache
is unreachable the write goes through: the limit is a safeguard, not a gate that may take the
whole app down with it. Two-factor codes are the exception: with the cache unreachable none
is checked, since nothing would then hold back someone guessing them.
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
TOO_MANY_CODES = (
    "Too many codes tried ({limit} in {window}). None was checked this time; try again in {wait}."
)
CODES_UNCOUNTED = "Throughline cannot check codes right now; try again in a minute."


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


def _key(prefix: str, user, window: int, slot: int) -> str:
    return f"{prefix}:{user.pk}:{window}:{slot}"


def _over(
    user, *, prefix: str, limit: int, window: int, message: str, uncounted: str | None = None
) -> tuple[int, str] | None:
    """Count one action by this person in the current window of `window` seconds; past
    `limit`, the seconds until the window ends and the message, filled in. When the cache
    cannot count, the action goes through, unless `uncounted` says why it may not."""
    if limit <= 0:
        return None
    window = max(1, window)
    now = _clock()
    slot = int(now // window)
    count = _hit(_key(prefix, user, window, slot), window)
    if count is None and uncounted is not None:
        return 60, uncounted
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


def over_two_factor_limit(user) -> tuple[int, str] | None:
    """Count one two-factor code tried by this person (at sign-in, setting up, turning off);
    past TWO_FACTOR_ATTEMPT_LIMIT in the current window of TWO_FACTOR_ATTEMPT_WINDOW seconds,
    or while the cache cannot count, the wait and the message: a six-digit code must not be
    open to guessing."""
    return _over(
        user,
        prefix=f"{settings.WRITE_RATE_LIMIT_KEY_PREFIX}:two-factor",
        limit=settings.TWO_FACTOR_ATTEMPT_LIMIT,
        window=settings.TWO_FACTOR_ATTEMPT_WINDOW,
        message=TOO_MANY_CODES,
        uncounted=CODES_UNCOUNTED,
    )


def two_factor_attempts_forget(user) -> None:
    """A right code: the codes this person tried in the current window no longer count, so
    the limit holds back guessing and never the person who has the app."""
    window = max(1, settings.TWO_FACTOR_ATTEMPT_WINDOW)
    prefix = f"{settings.WRITE_RATE_LIMIT_KEY_PREFIX}:two-factor"
    try:
        cache.delete(_key(prefix, user, window, int(_clock() // window)))
    except Exception:  # the next code is refused until the cache counts again
        logger.warning("two-factor attempts not forgotten: the cache is unreachable")
