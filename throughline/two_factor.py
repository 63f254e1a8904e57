"""The gate between a password and the rest of Throughline (core/two_factor.py).

A session that signed in with a password and still owes its code is held: it reaches only
the code step and signing out. One that must first set up an authenticator
(REQUIRE_TWO_FACTOR) reaches only the set-up page and signing out.

- A view that needs a sign-in (nearly every page, the admin's included) loads the session
  and the person anyway; a held session is sent to its page instead: a redirect (with
  `next` for a page), or `HX-Redirect` for htmx.
- A view open without a sign-in (the sign-in and password pages, the REST API with its own
  401s, the co-writing poll, the calendar feeds) may answer without reading the session at
  all, and the no-change poll does; so nothing is read here. If such a view asks who is
  signed in, a held session is nobody: the API answers it 401, the poll as to a stranger.
  An API token is judged by the API alone and never meets the step.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from core.two_factor import PENDING_CODE, PENDING_SETUP

# Where a held session may go, and where it is sent otherwise.
HELD = {
    PENDING_CODE: (("two_factor_code", "logout"), "two_factor_code"),
    PENDING_SETUP: (("two_factor", "two_factor_confirm", "logout"), "two_factor"),
}


def held_by(request: HttpRequest) -> str | None:
    """Which step, if any, this request's session still owes."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    return next((key for key in HELD if session.get(key)), None)


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            self._nobody_if_held(request)
            return None
        step = held_by(request)
        if step is None or not request.user.is_authenticated:
            return None
        allowed, to = HELD[step]
        if request.path in {reverse(name) for name in allowed}:
            request.two_factor_step_page = True  # its page shows the person (held_chrome)
            return None
        return self._sent_to(request, reverse(to))

    @staticmethod
    def _nobody_if_held(request: HttpRequest) -> None:
        user = getattr(request, "user", None)
        if user is None:
            return
        request.user = SimpleLazyObject(
            lambda: AnonymousUser() if held_by(request) is not None else user
        )

    @staticmethod
    def _sent_to(request: HttpRequest, url: str) -> HttpResponse:
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(url)


def held_chrome(request: HttpRequest) -> bool:
    """Whether a page about to be drawn must show a held session as nobody: any page but the
    step's own, such as the 404 page of an address no view answers, which this gate never
    sees (throughline.context_processors)."""
    return held_by(request) is not None and not getattr(request, "two_factor_step_page", False)
