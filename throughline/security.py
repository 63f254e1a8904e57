"""Sign-in protection around django-axes, and the 400 handler that knows about size limits.

Axes counts failed sign-ins per username and client address together (AXES_LOCKOUT_PARAMETERS),
so a lockout started from one place never keeps the same person out from another. The lockout
page says the same thing whatever the username, existing or not.
"""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import defaults

from throughline.middleware import too_large_response

LOCKED_OUT_STATUS = 429


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies the
    address the outermost of them saw, from X-Forwarded-For.

    Each proxy appends the address it got the request from, so the trustworthy entry is the
    one TRUSTED_PROXY_COUNT places from the right; anything left of it the client may forge.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: one friendly 429 page, the same for every username."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    minutes = math.ceil(seconds / 60) if seconds else 0
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes},
        status=LOCKED_OUT_STATUS,
    )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view; a new password set through the emailed link also ends any lockout of
    that username, since following the link proves the person holds the account's email."""

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=self.user.get_username())
        return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: a body past the size limits is 413 with a plain page, the rest Django's 400."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return too_large_response(request)
    return defaults.bad_request(request, exception)
