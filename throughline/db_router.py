"""Reads of the board and its exports from a read replica, when DATABASE_REPLICA_URL names one.

The board (its page, the graph) and the exports are the heaviest reads in the app and the ones
that can stand to be a moment behind, so on a GET or HEAD for one of the views in
REPLICA_READ_VIEWS, ReplicaReadsMiddleware sends the view's reads to the `replica` alias.
Everything else reads from the primary, and every write goes there: the sign-in and the
session (read before the view is chosen), the plan pages, the row the board redraws after a
change (`board:row`), the Celery worker. A read inside a transaction on the primary stays on
the primary, so a view that writes and then reads sees its own write. Without a replica (no
DATABASE_REPLICA_URL, or SQLite) the middleware removes itself and nothing changes.

The trade-off is the replica's lag: a person who changes a dependency and opens the board
within that moment may see the board as it was (docs/performance.md, "Past one machine").
The page cache keys the board on revisions read from the same replica as the board itself
(core.pagecache.revisions asks this router), so a body is never stored under a revision newer
than the data it shows.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"

# True while a request for one of REPLICA_READ_VIEWS is answered (including the streaming of
# its body). A context variable: each request of a threaded worker has its own.
_replica_reads: ContextVar[bool] = ContextVar("throughline_replica_reads", default=False)


class ReplicaRouter:
    """DATABASE_ROUTERS: the replica for reads while a replica view is answered, the primary
    for everything else."""

    def db_for_read(self, model, **hints) -> str | None:
        if _replica_reads.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The same rows on both: an object read from the replica may point at one from the
        # primary.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Sends the reads of a GET or HEAD for one of REPLICA_READ_VIEWS to the replica: from the
    moment the view is chosen until the view returns, or for a streamed answer (an export)
    until it has been sent."""

    def __init__(self, get_response) -> None:
        if REPLICA not in settings.DATABASES:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.views = frozenset(settings.REPLICA_READ_VIEWS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Whatever a response before this one in the same thread left behind.
        _replica_reads.set(False)
        try:
            response = self.get_response(request)
        except BaseException:
            _replica_reads.set(False)
            raise
        if _replica_reads.get():
            if response.streaming:
                # A streamed body reads while the server sends it: back to the primary once
                # it is closed (Django's response calls its closers then).
                response._resource_closers.append(lambda: _replica_reads.set(False))
            else:
                # The middleware around this one reads from the primary on its way out.
                _replica_reads.set(False)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        match = request.resolver_match
        if request.method in ("GET", "HEAD") and match and match.view_name in self.views:
            _replica_reads.set(True)
