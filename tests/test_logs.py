"""What the app's logs show: never a calendar feed's secret address, an API token or a
password, in Django's request log, runserver's access log or gunicorn's access log."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.wsgi import get_wsgi_application
from django.test import Client

from planning import feeds
from tests import factories as f
from tests.conftest import running_gunicorn

User = get_user_model()


@contextmanager
def app_logs() -> Iterator[io.StringIO]:
    """Everything the app's configured handlers print, for the time being."""
    out = io.StringIO()
    handlers = {
        handler
        for name in ("", "django", "django.request", "django.server")
        for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler
    }
    assert handlers, "no configured handler found"
    previous = {handler: handler.setStream(out) for handler in handlers}
    try:
        yield out
    finally:
        for handler, stream in previous.items():
            handler.setStream(stream)


def _port() -> int:
    for port in range(16440, 16500):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free port in 16440-16499")


@pytest.fixture
def secret(transactional_db) -> str:
    person = f.person("ada", "Ada Lovelace")
    return feeds.reset_secret(person).secret


def test_django_request_log_leaves_out_the_feed_secret(secret, monkeypatch):
    client = Client(raise_request_exception=False)
    unknown = "made-up-secret-" + "z" * 30

    def broken(request, user):
        raise RuntimeError(f"could not draw the calendar at {request.path}")

    with app_logs() as logs:
        assert client.get(f"/calendar/feed/{unknown}/mine.ics").status_code == 404
        monkeypatch.setattr(feeds, "person_calendar", broken)
        assert client.get(f"/calendar/feed/{secret}/mine.ics").status_code == 500
    text = logs.getvalue()
    assert "Not Found: /calendar/feed/[redacted]/mine.ics" in text
    assert "Internal Server Error: /calendar/feed/[redacted]/mine.ics" in text
    assert "RuntimeError: could not draw the calendar at /calendar/feed/[redacted]/" in text
    assert secret not in text
    assert unknown not in text


def test_tokens_and_passwords_are_left_out_of_any_log_line():
    logger = logging.getLogger("planning.views")
    with app_logs() as logs:
        logger.warning("refused %s", "Authorization: Bearer tl_abcdefghijklmnop")
        logger.warning("refused %s", "Authorization: Basic YWRhOnNlY3JldA==")
        logger.warning("posted %s", {"username": "ada", "password": "hunter2-long"})
        logger.warning("query password=hunter3-long&next=/")
    text = logs.getvalue()
    for secret in ("tl_abcdefghijklmnop", "YWRhOnNlY3JldA==", "hunter2-long", "hunter3-long"):
        assert secret not in text
    assert text.count("[redacted]") == 4
    assert "next=/" in text


def test_runservers_access_log_leaves_out_the_feed_secret(secret):
    port = _port()
    server = WSGIServer(("127.0.0.1", port), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with app_logs() as logs:
        thread.start()
        try:
            answer = requests.get(f"http://127.0.0.1:{port}/calendar/feed/{secret}/mine.ics")
            assert answer.status_code == 200
            assert b"BEGIN:VCALENDAR" in answer.content
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
    text = logs.getvalue()
    assert '"GET /calendar/feed/[redacted]/mine.ics HTTP/1.1" 200' in text
    assert secret not in text


def test_gunicorns_access_log_leaves_out_the_feed_secret(secret, tmp_path):
    log = tmp_path / "gunicorn.log"
    with running_gunicorn({}, log) as (base, _):
        url = f"{base}/calendar/feed/{secret}/mine.ics"
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200, log.read_text()
        assert requests.get(url.replace(secret, "made-up"), timeout=10).status_code == 404
    text = log.read_text()
    assert '"GET /calendar/feed/[redacted]/mine.ics HTTP/1.1" 200' in text
    assert secret not in text


@pytest.mark.django_db(transaction=True)
def test_the_development_server_answers_too_much_at_once_with_413_not_an_error():
    """`make run` serves with Django's development server, which refuses a Connection header
    from the app: a form far over the size limit is told so (413), not answered 500."""
    port = _port()
    server = WSGIServer(("127.0.0.1", port), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = requests.post(
            f"http://127.0.0.1:{port}/accounts/login/",
            data={"username": "x" * (12 * 1024 * 1024)},
            timeout=30,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert answer.status_code == 413
    assert "Too much at once" in answer.text
