"""Project wiring: settings, URLs, WSGI/ASGI, the Celery app, middleware, sessions, logging.

Nothing in the apps imports from here; this package imports the apps (docs/architecture.md).
"""

from throughline.celery import app as celery_app

__all__ = ["celery_app"]
