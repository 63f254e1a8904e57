"""The request every view of a signed-in person receives, typed once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


# Where the page's script (static/js/keys.js) puts the focus after a save, when it is not the
# part the form was in: the new item a form added, say. An element id.
FOCUS_HEADER = "X-Focus"


def focus_after(response: HttpResponse, element_id: str) -> HttpResponse:
    response[FOCUS_HEADER] = element_id
    return response
