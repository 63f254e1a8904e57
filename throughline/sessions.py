"""Sessions read from the cache, kept in the database: Django's cached_db, made to carry on
from the database alone while the cache (Redis) cannot be reached, and never to let a
sign-out be undone by it.

Every signed-in request reads its session; from Redis that is one quick lookup instead of a
database query. The database stays the record of which sessions are alive: emptying or
losing the cache signs no one out, and a copy in the cache counts only while its database
row is alive. That matters when Redis was out of reach while someone signed out (or their
session was flushed): the row is gone, the copy in Redis is not, and Redis may come back
with it. So a session read from the cache is checked against its row in the same query
that loads the person's account (`AuthenticationMiddleware` below), which every signed-in
request makes anyway: no extra round trip. A copy whose row is gone is thrown away and the
request is signed out. A session read from the database needs no check.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends import cached_db, db
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    # True once loaded from the cache: the database has not confirmed this session yet.
    from_cache = False

    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            logger.warning("session read from the database: cache unreachable", exc_info=True)
            data = None
        if data is not None:
            self.from_cache = True
            return data
        self.from_cache = False
        row = self._get_session_from_db()
        if row is None:
            return {}
        data = self.decode(row.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
        except Exception:
            logger.warning("session not cached: cache unreachable", exc_info=True)
        return data

    def exists(self, session_key):
        # Asked when a new key is made: the database knows every session.
        return db.SessionStore.exists(self, session_key)

    def delete(self, session_key=None):
        # The database row goes first (cached_db deletes it before the cache entry): with the
        # row gone, a copy left in an unreachable cache no longer signs anyone in.
        try:
            super().delete(session_key)
        except Exception:
            logger.warning("session left in the cache: cache unreachable", exc_info=True)


_USER_WITH_LIVE_SESSION = """
SELECT u.*, EXISTS (
    SELECT 1 FROM {sessions} s WHERE s.session_key = %s AND s.expire_date > %s
) AS session_alive
FROM {users} u WHERE u.{pk} = %s
"""


def get_user(request):
    """The signed-in person, as django.contrib.auth.get_user, except that a session read
    from the cache is confirmed by its database row in the query that loads the account."""
    session = request.session
    user_id = session.get(SESSION_KEY)  # loads the session
    backend_path = session.get(BACKEND_SESSION_KEY)
    if not getattr(session, "from_cache", False) or user_id is None or backend_path is None:
        return auth.get_user(request)
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    backend = auth.load_backend(backend_path)
    if type(backend) is not ModelBackend:
        return auth.get_user(request)
    User = auth.get_user_model()
    try:
        pk = User._meta.pk.to_python(user_id)
    except ValidationError:
        return AnonymousUser()
    # Plain SQL: this runs on every signed-in request, and the ORM took about 1.8 ms to
    # compile the same query with its EXISTS (docs/performance.md).
    user = next(
        iter(
            User._default_manager.raw(
                _USER_WITH_LIVE_SESSION.format(
                    users=User._meta.db_table,
                    pk=User._meta.pk.column,
                    sessions=Session._meta.db_table,
                ),
                [session.session_key, timezone.now(), pk],
            )
        ),
        None,
    )
    if user is not None and not user.session_alive:
        # Ended while the cache was out of reach: the copy in it is stale.
        logger.info("a session ended in the database was still cached: signed out")
        session.flush()
        return AnonymousUser()
    if user is None or not backend.user_can_authenticate(user):
        return AnonymousUser()
    return _verified(request, user)


def _verified(request, user):
    """Django's check that the session was made with the person's current password (see
    django.contrib.auth.get_user), for a user loaded here."""
    session = request.session
    session_hash = session.get(HASH_SESSION_KEY)
    current = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, current):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = current
        return user
    session.flush()
    return AnonymousUser()


def _cached_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = get_user(request)
    return request._cached_user


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with get_user() above: request.user is signed out when its session ended
    in the database, whatever the cache still holds."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _cached_user(request))
