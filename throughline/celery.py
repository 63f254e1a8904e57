from __future__ import annotations

import logging
import os
import shutil
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
# processes each write theirs to files in PROMETHEUS_MULTIPROC_DIR (a fresh folder of its own
# unless given), which prometheus_client must know of before it is first imported; loading
# the tasks imports it, so this is decided here, as the worker's command loads this module.


def _review_finished(sender, **kwargs) -> None:
    from throughline.metrics import review_finished

    review_finished(sender, **kwargs)


post_save.connect(
    _review_finished, sender="planning.ReviewRun", weak=False, dispatch_uid="review-metrics"
)

_METRICS_PORT = os.environ.get("CELERY_METRICS_PORT", "") if "worker" in sys.argv[1:] else ""
_OWN_METRICS_FOLDER = ""
if _METRICS_PORT:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        for _stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
            _stale.unlink()
    else:
        _OWN_METRICS_FOLDER = tempfile.mkdtemp(prefix="throughline-worker-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_FOLDER


@signals.worker_ready.connect
def _metrics_server(**kwargs) -> None:
    if _METRICS_PORT:
        from throughline.metrics import start_worker_server

        start_worker_server(int(_METRICS_PORT))


@signals.worker_process_shutdown.connect
def _metrics_process_gone(pid=None, **kwargs) -> None:
    if _METRICS_PORT:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@signals.worker_shutdown.connect
def _metrics_folder_removed(**kwargs) -> None:
    if _OWN_METRICS_FOLDER:
        shutil.rmtree(_OWN_METRICS_FOLDER, ignore_errors=True)
