"""Secrets kept out of the logs.

`RedactSecrets` is a logging filter on every handler the app configures (throughline/settings.py
LOGGING: the console, which Django's request log `django.request` reaches, and runserver's
access log `django.server`) and on gunicorn's access and error logs (throughline/gunicorn.py).
It rewrites a record's message and traceback before any handler prints them:

- the secret in a calendar feed's address (`/calendar/feed/<secret>/...`): whoever reads the
  log could otherwise subscribe to that person's calendar;
- the token in an invitation's sign-up link (`/signup/<token>/`): whoever reads the log
  could otherwise make the invited person's account;
- the token in an administrator's one-time sign-in link (`/accounts/signin-link/<id>/<token>/`)
  and the one-time code the company sign-in sends back (`?code=...`, throughline/oidc.py);
- a credential in an Authorization header (`Bearer ...`, `Basic ...`) and an API token
  (`tl_...`) wherever it shows;
- a value given for a password (`password=...`, `"password": "..."`);
- a session id or CSRF token (`sessionid=...`, `csrftoken=...`), as a Cookie header has them.

With LOG_FORMAT=json each line is one JSON object (`JsonFormatter`), carrying the id of the
request it was written for (`RequestIdMiddleware`, `RequestContext`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

REDACTED = "[redacted]"

_PATTERNS = [
    (re.compile(r"(/calendar/feed/)[^/\s\"'?#]+"), r"\g<1>" + REDACTED),
    (re.compile(r"(/signup/)[^/\s\"'?#]+"), r"\g<1>" + REDACTED),
    (re.compile(r"(/signin-link/[^/\s]+/)[^/\s\"'?#]+"), r"\g<1>" + REDACTED),
    (re.compile(r"([?&]code=)[^&\s\"'#]+"), r"\g<1>" + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]+"), r"\g<1>\g<2>" + REDACTED),
    (re.compile(r"\btl_[A-Za-z0-9_-]+"), "tl_" + REDACTED),
    (
        re.compile(r"(?i)(password\w*[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;}]+"),
        r"\g<1>" + REDACTED,
    ),
    (
        re.compile(
            r"(?i)\b((?:sessionid|csrftoken|csrfmiddlewaretoken)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;}]+"
        ),
        r"\g<1>" + REDACTED,
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# --- each request's id and address in its log lines, and JSON lines (LOG_FORMAT=json) ---

_request: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "throughline_request", default=None
)
# What a proxy may hand on as the request's id (nginx's $request_id is 32 hex digits);
# anything else is replaced, so a client cannot write into the log through it.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def current_request_id() -> str | None:
    context = _request.get()
    return context["request_id"] if context else None


class RequestIdMiddleware:
    """Gives each request an id (the proxy's X-Request-ID, or a new one), sends it back in
    X-Request-ID, and puts it, the method and the address (secrets redacted) into every log
    line written while the request is served."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request.set(
            {"request_id": request_id, "method": request.method, "path": redact(request.path)}
        )
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestContext(logging.Filter):
    """Adds the request being served (id, method, address) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _request.get()
        # Django's request log ("Not Found: ...") is written after the middleware has
        # returned, with the request among the record's extras.
        request = getattr(record, "request", None)
        if context is None and getattr(request, "request_id", None):
            context = {
                "request_id": request.request_id,
                "method": request.method,
                "path": redact(request.path),
            }
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


# Record attributes every line has, or that must not be printed (Django's request log
# passes the request object itself).
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request",
    "server_time",
}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request's id, method and
    address, the status code, any other extra given to the log call (as text), and the
    traceback. Secrets are redacted from it all, on top of RedactSecrets."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool) else redact(str(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
