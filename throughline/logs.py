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
- a value given for a password (`password=...`, `"password": "..."`).
"""

from __future__ import annotations

import logging
import re

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
