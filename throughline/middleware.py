"""Limits that answer with a clear page instead of a crash: body size and the write rate.

- `RequestSizeLimitMiddleware` refuses with 413, before anything reads the body, a request
  whose body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE, or for a file upload (multipart)
  larger than UPLOAD_MAX_REQUEST_SIZE. Within that, Django still holds a multipart request's
  fields other than files to DATA_UPLOAD_MAX_MEMORY_SIZE.
- `WriteRateLimitMiddleware` counts each signed-in person's writes (POST, PUT, PATCH, DELETE)
  in Django's cache (Redis when REDIS_URL is set) in fixed windows of WRITE_RATE_LIMIT_WINDOW
  seconds; past WRITE_RATE_LIMIT writes in a window it answers 429 until the window ends.
  Signing in is django-axes' business and signing out is always allowed; a POST to a view
  marked `core.limits.changes_nothing` is a read and not counted.
- `PrivateResponsesMiddleware` marks every answer to a signed-in person (a session cookie or
  an API token on the request, or a session cookie set by the answer)
  `Cache-Control: private, no-store`: no shared cache keeps it and no browser stores it
  after the person signs out. It goes by the request's cookie and header alone, so it costs
  the co-writing poll no session or database read.
- `RefuseNulMiddleware` answers 400 to a request whose address, query or form fields hold
  the NUL character: no text a person types holds one, and PostgreSQL cannot store or even
  look up text with it, so it would otherwise fail deep inside a view.

htmx requests get a short message swapped into the page's alert area (#alerts in base.html,
through HX-Retarget and HX-Reswap; base.html tells htmx to swap 413 and 429 answers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from core.limits import WRITE_METHODS, over_write_limit

logger = logging.getLogger(__name__)

ALERTS_TARGET = "#alerts"

TOO_LARGE = "That was more than Throughline accepts in one request ({size}). Nothing was saved."
HOLDS_NUL = (
    "The request held a NUL character, which no text in Throughline can contain. Nothing was saved."
)
API_PREFIX = "/api/"
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _human_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def limit_response(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """A plain page with the message, for htmx the message alone, aimed at #alerts, and for
    the REST API the message as JSON."""
    context = {"title": title, "message": message, "status": status}
    if request.path.startswith(API_PREFIX):
        # The REST API answers its errors as JSON, in the shape of its own (api/api.py).
        response = JsonResponse({"detail": message, "errors": {}}, status=status)
    elif _is_htmx(request):
        response = render(request, "errors/_alert.html", context, status=status)
        response["HX-Retarget"] = ALERTS_TARGET
        response["HX-Reswap"] = "innerHTML"
    else:
        response = render(request, "errors/limit.html", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _body_limit(request: HttpRequest) -> int | None:
    if request.content_type == "multipart/form-data":
        return settings.UPLOAD_MAX_REQUEST_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large_response(request: HttpRequest, limit: int | None = None) -> HttpResponse:
    """413 with the limit in words; by default the limit on fields other than files."""
    if limit is None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return limit_response(
        request,
        status=413,
        title="Too much at once",
        message=TOO_LARGE.format(size=f"at most {_human_bytes(limit)}"),
        # The rest of the body is not read: close the connection rather than drain it.
        # Django's development server (the embedded default's `make run`) refuses that
        # header from the app, and closes such a connection itself.
        headers={}
        if request.META.get("SERVER_SOFTWARE", "").startswith("WSGIServer/")
        else {"Connection": "close"},
    )


class RequestSizeLimitMiddleware:
    """413 for a body larger than its limit, judged by Content-Length.

    Django itself only notices when something reads request.POST or request.body, and then
    answers 400; a request without Content-Length is still bounded by Django's own check,
    which throughline.security.bad_request turns into the same 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = _body_limit(request)
        if limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return too_large_response(request, limit)
        return self.get_response(request)


class PrivateResponsesMiddleware:
    """`Cache-Control: private, no-store` on every answer to a signed-in person.

    Static files are served before this (WhiteNoise comes first) and stay cacheable. What a
    view already said is kept (the poll's `no-cache` and ETag), only made private and
    unstored; the status (204, 304) is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self._signed_in(request, response):
            response.headers.pop("Expires", None)
            patch_cache_control(response, private=True, no_store=True)
        return response

    @staticmethod
    def _signed_in(request: HttpRequest, response: HttpResponse) -> bool:
        session_cookie = settings.SESSION_COOKIE_NAME
        return (
            session_cookie in request.COOKIES
            or "Authorization" in request.headers
            or session_cookie in response.cookies
        )


class RefuseNulMiddleware:
    """400 for a NUL character anywhere a view would take text from: path, query, form."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._holds_nul(request):
            return limit_response(
                request, status=400, title="Unreadable request", message=HOLDS_NUL
            )
        return self.get_response(request)

    @staticmethod
    def _holds_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path or "\x00" in request.META.get("QUERY_STRING", ""):
            return True
        parts = [request.GET]
        # Only form bodies are parsed here (CSRF protection reads them anyway); a too large
        # one raises as usual and becomes the 413 page.
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            parts.append(request.POST)
        return any(
            "\x00" in name or any("\x00" in value for value in values)
            for part in parts
            for name, values in part.lists()
        )


class WriteRateLimitMiddleware:
    """429 for a signed-in person's writes past WRITE_RATE_LIMIT per WRITE_RATE_LIMIT_WINDOW.

    Fixed windows aligned to the clock, one cache counter per person and window. When the
    cache is unreachable the write goes through: the limit is a safeguard, not a gate that may
    take the whole app down with it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._counts(request):
            over = over_write_limit(request.user)
            if over is not None:
                wait, message = over
                return limit_response(
                    request,
                    status=429,
                    title="Too many changes at once",
                    message=message,
                    headers={"Retry-After": str(wait)},
                )
        return self.get_response(request)

    @staticmethod
    def _counts(request: HttpRequest) -> bool:
        if settings.WRITE_RATE_LIMIT <= 0 or request.method not in WRITE_METHODS:
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if request.path in {reverse("login"), reverse("logout")}:
            return False
        return not _changes_nothing(request)


def _changes_nothing(request: HttpRequest) -> bool:
    """Whether the view this request is for only reads, though it is posted to."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return getattr(match.func, "changes_nothing", False)


# Form fields that carry no words of the person's: never given back on the "removed" page.
_NOT_WRITTEN = frozenset({"csrfmiddlewaretoken", "version", "choice", "next", "view", "was"})


def _written(request: HttpRequest) -> list[tuple[str, str]]:
    """The text a refused form carried, field by field, to give back to its author."""
    if request.method != "POST" or request.content_type not in FORM_CONTENT_TYPES:
        return []
    return [
        (name.rsplit("-", 1)[-1].replace("_", " "), value.strip())
        for name, values in request.POST.lists()
        if name not in _NOT_WRITTEN
        for value in values
        if value.strip() and not value.strip().isdigit()
    ][:50]


class GoneMiddleware:
    """What a request names was removed (core.removal.Gone): 410 with who removed it and
    when, and, for a form, the text it carried, so nothing a person wrote is lost unseen.
    htmx gets the sentence in the alert area and keeps its form as typed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        from core.people import display_name
        from core.removal import Gone

        if not isinstance(exception, Gone):
            return None
        removal = exception.obj.removal
        when = timezone.localtime(removal.removed_at).strftime("%-d %b %Y, %H:%M")
        message = (
            f"This {exception.what} was removed by {display_name(removal.removed_by)} on {when}."
        )
        if request.method == "POST":
            message += " Nothing you sent was saved."
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"detail": message, "errors": {}}, status=410)
        if _is_htmx(request):
            if request.method == "POST":
                message += " Your text is still in the form: copy it before you leave."
            return limit_response(request, status=410, title="Removed", message=message)
        context = {"title": "Removed", "message": message, "written": _written(request)}
        return render(request, "errors/gone.html", context, status=410)


class OwnMarkersMiddleware:
    """Shows each person what is only theirs in a page drawn for many (a comment's Remove
    link, core.pagecache.own_marker), in pages, htmx parts and the co-writing poll alike,
    whether the page came from the cache or not."""

    TYPES = ("text/html", "application/json")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from core.pagecache import OWN_PREFIX, show_own

        response = self.get_response(request)
        if response.streaming or not response.get("Content-Type", "").startswith(self.TYPES):
            return response
        original = response.content
        if OWN_PREFIX not in original:
            return response  # most answers, the poll's 204 among them: no session read here
        user = getattr(request, "user", None)
        viewer = user.pk if user is not None and user.is_authenticated else None
        content = show_own(original, viewer)
        if content is not original:
            response.content = content
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(content))
        return response
