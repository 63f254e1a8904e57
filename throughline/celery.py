from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from celery import Celery, bootsteps, signals
from django.db.models.signals import post_save

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")

logger = logging.getLogger(__name__)

app = Celery("throughline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# --- surviving a Redis outage -----------------------------------------------------------
#
# When the worker loses Redis while it holds a message it has not acknowledged (a review
# waiting for its countdown, or one that is running), Celery 5.7 first collect()s the broken
# connection, which detaches kombu's transport from it, and then close()s the connection
# again. Collecting could not finish closing the channel (reading its pending BRPOP raised
# the connection error first), so the second close tries to put the held messages back on
# the queue through the detached transport, and kombu's Redis channel fails reading
# `self.connection.client.hostname` (None): an AttributeError, which Celery treats as
# unrecoverable, so the worker exits (kombu and celery 5.7.0; no later release fixes it).
#
# Putting the messages back cannot work then anyway, Redis being gone: they stay in Redis's
# "unacked" hash, which kombu would only hand out again after the visibility timeout (an
# hour). So the worker notes their delivery tags instead and puts them back as soon as it
# is connected again: the review it held runs once Redis returns.

_held_when_broker_lost: set[str] = set()


def _restore_unacked_or_remember(restore_unacked):
    def restore(self, client=None):
        transport = self.channel.connection
        if transport is None or transport.client is None:
            # The connection was collected: no way to reach Redis from this channel.
            _held_when_broker_lost.update(self._delivered)
            self._delivered.clear()
            return None
        try:
            return restore_unacked(self, client)
        except self.channel.connection_errors:
            _held_when_broker_lost.update(self._delivered)
            self._delivered.clear()
            return None

    restore.__wrapped__ = restore_unacked
    return restore


def _patch_redis_transport() -> None:
    try:
        from kombu.transport import redis as kombu_redis
    except ImportError:  # without the redis client the filesystem broker needs no patch
        return
    if not hasattr(kombu_redis.QoS.restore_unacked, "__wrapped__"):
        kombu_redis.QoS.restore_unacked = _restore_unacked_or_remember(
            kombu_redis.QoS.restore_unacked
        )


class RestoreHeldMessages(bootsteps.StartStopStep):
    """After (re)connecting, put back the messages the worker held when it lost Redis."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c) -> None:
        if not _held_when_broker_lost:
            return
        qos = getattr(c.connection.default_channel, "qos", None)
        if qos is None or not hasattr(qos, "restore_by_tag"):
            return
        for tag in sorted(_held_when_broker_lost):
            # A tag Redis no longer has (it restarted empty, or it was handed out again
            # meanwhile) restores nothing; the periodic review catches up then.
            qos.restore_by_tag(tag)
            _held_when_broker_lost.discard(tag)
        logger.warning("Put back the tasks held when the connection to the broker was lost")


_patch_redis_transport()
app.steps["consumer"].add(RestoreHeldMessages)


# --- metrics (throughline/metrics.py) ----------------------------------------------------
#
# Each run of the review is timed in the process that ran it, once its row says it ended.
# A worker started with CELERY_METRICS_PORT serves its metrics on that port: its pool's
# processes each write theirs to files in PROMETHEUS_MULTIPROC_DIR (a fresh folder unless
# given), which prometheus_client must know of before it is first imported, so before the
# pool starts.


def _review_finished(sender, **kwargs) -> None:
    from throughline.metrics import review_finished

    review_finished(sender, **kwargs)


post_save.connect(
    _review_finished, sender="planning.ReviewRun", weak=False, dispatch_uid="review-metrics"
)


@signals.celeryd_init.connect
def _metrics_folder(**kwargs) -> None:
    if not os.environ.get("CELERY_METRICS_PORT"):
        return
    if "prometheus_client" in sys.modules:
        logger.warning("prometheus_client was imported before the worker set up its metrics")
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="throughline-worker-")


@signals.worker_ready.connect
def _metrics_server(**kwargs) -> None:
    port = os.environ.get("CELERY_METRICS_PORT")
    if port:
        from throughline.metrics import start_worker_server

        start_worker_server(int(port))


@signals.worker_process_shutdown.connect
def _metrics_process_gone(pid=None, **kwargs) -> None:
    if os.environ.get("CELERY_METRICS_PORT") and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
