"""gunicorn's settings for the production image.

The Dockerfile runs `gunicorn -c python:throughline.gunicorn`.

The access log goes to standard output, as before, through throughline.logs.RedactSecrets like
every log the app writes: a calendar feed's secret address is requested on every refresh of
a subscribed calendar and must not end up in the log.
With LOG_FORMAT=json, its lines are JSON objects like the app's (throughline/logs.py).

Metrics (throughline/metrics.py): each worker process writes its values to files in
PROMETHEUS_MULTIPROC_DIR, which /metrics adds up whichever worker answers it. Unless given,
that is a fresh folder of this gunicorn's own, removed when it stops; a given folder is
emptied when gunicorn starts. A worker that exits leaves its counts (they stay counted) but
not its live gauges.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

from throughline.logs import JsonFormatter, RedactSecrets

accesslog = "-"

# Set before the app is loaded (in the workers), so prometheus_client sees it on import. This
# module is read again on a reload (HUP): the folder is then already set and kept.
_OWN_FOLDER = "THROUGHLINE_METRICS_FOLDER_OWNED"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="throughline-metrics-")
    os.environ[_OWN_FOLDER] = "1"


def on_starting(server) -> None:
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if os.environ.get(_OWN_FOLDER):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                    handler.addFilter(RedactSecrets())
                if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
                    handler.setFormatter(JsonFormatter())


logger_class = RedactingLogger
