"""Sessions read from the cache, kept in the database: Django's cached_db, made to carry on
from the database alone while the cache (Redis) cannot be reached.

Every signed-in request reads its session; from Redis that is one quick lookup instead of a
database query. The database stays the record, so emptying or losing the cache signs no
one out.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db, db

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            return super().load()
        except Exception:  # the cache failed after the database answered: read it again
            logger.warning("session read from the database: cache unreachable", exc_info=True)
            return db.SessionStore.load(self)

    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except Exception:
            logger.warning("session looked up in the database: cache unreachable", exc_info=True)
            return db.SessionStore.exists(self, session_key)

    def delete(self, session_key=None):
        # The database row goes first (cached_db deletes it before the cache entry).
        try:
            super().delete(session_key)
        except Exception:
            logger.warning("session left in the cache: cache unreachable", exc_info=True)
