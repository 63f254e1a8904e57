"""gunicorn's settings for the production image.

The Dockerfile runs `gunicorn -c python:throughline.gunicorn`.

The access log goes to standard output, as before, through throughline.logs.RedactSecrets like
every log the app writes: a calendar feed's secret address is requested on every refresh of
a subscribed calendar and must not end up in the log.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from throughline.logs import RedactSecrets

accesslog = "-"


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                    handler.addFilter(RedactSecrets())


logger_class = RedactingLogger
