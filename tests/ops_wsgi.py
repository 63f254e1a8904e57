"""The app as gunicorn serves it, with one more address whose view fails: for the error
reports tested end to end in tests/test_operations.py. Nothing else imports it."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "throughline.settings")

from django.contrib.auth.decorators import login_not_required  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

application = get_wsgi_application()

from throughline import urls  # noqa: E402


@login_not_required
def fails(request):
    given = request.GET.get("password", "")
    raise RuntimeError(f"the view failed on purpose; it was given password={given}")


urls.urlpatterns.append(path("test-fails/", fails, name="test_fails"))
clear_url_caches()
