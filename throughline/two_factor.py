"""The gate between a password and the rest of Throughline (core/two_factor.py).

A session that signed in with a password and still owes its code reaches only the code step
and signing out; one that must first set up an authenticator (REQUIRE_TWO_FACTOR) reaches
only the set-up page and signing out. Every other request is sent to that page:
a redirect (with `next`, for a page), `HX-Redirect` for htmx, and for the REST API a 401 in
its own JSON shape. A request carrying an API token is the token's business and passes.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from core.two_factor import PENDING_CODE, PENDING_SETUP

API_PREFIX = "/api/"
FINISH_SIGNING_IN = "Finish signing in with your two-factor code first."
SET_UP_FIRST = "Set up two-factor sign-in first."


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None or not request.user.is_authenticated:
            return self.get_response(request)
        if request.path.startswith(API_PREFIX) and "Authorization" in request.headers:
            return self.get_response(request)
        if session.get(PENDING_CODE):
            allowed = ("two_factor_code", "logout")
            to, message = "two_factor_code", FINISH_SIGNING_IN
        elif session.get(PENDING_SETUP):
            allowed = ("two_factor", "two_factor_confirm", "logout")
            to, message = "two_factor", SET_UP_FIRST
        else:
            return self.get_response(request)
        if request.path in {reverse(name) for name in allowed}:
            return self.get_response(request)
        return self._elsewhere(request, to, message)

    @staticmethod
    def _elsewhere(request: HttpRequest, to: str, message: str) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": message, "errors": {}}, status=401)
        url = reverse(to)
        htmx = request.headers.get("HX-Request") == "true"
        if request.method == "GET" and not htmx:
            url += "?" + urlencode({"next": request.get_full_path()})
        if htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
