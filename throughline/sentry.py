"""Error reports to Sentry, when SENTRY_DSN is set (throughline/settings.py).

Errors in requests (Django) and in tasks (Celery) are sent with no personal data
(send_default_pii off: no cookies, no signed-in person, no client address; and no request
body and no local variables of the failing code either),
tagged with SENTRY_ENVIRONMENT and SENTRY_RELEASE and with the request's id (the same as in
the logs and the X-Request-ID header). Before an event leaves, what is left is passed through
the logs' redaction (throughline/logs.py): a calendar feed's or sign-up link's secret in an
address, tokens, passwords and session ids in messages and query strings.
"""

from __future__ import annotations

from typing import Any

from throughline.logs import current_request_id, redact

# Headers that carry credentials: dropped whatever Sentry's own scrubber would do.
_SECRET_HEADERS = {"authorization", "cookie", "x-csrftoken", "proxy-authorization"}


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                key: value for key, value in headers.items() if key.lower() not in _SECRET_HEADERS
            }
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return _scrub(event)


def init(
    *, dsn: str, environment: str, release: str | None, traces_sample_rate: float | None
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=before_send,
        max_request_body_size="never",
        # A frame's local variables hold whatever the code had in hand (a password being
        # checked, a token being compared) under any name: none are sent.
        include_local_variables=False,
    )


def sample_rate(value: str) -> float | None:
    """SENTRY_TRACES_SAMPLE_RATE: None (no tracing) when empty, else a share from 0 to 1."""
    if not value.strip():
        return None
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"SENTRY_TRACES_SAMPLE_RATE must be from 0 to 1, not {value!r}")
    return rate
