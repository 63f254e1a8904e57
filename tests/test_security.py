"""Security and fault tolerance: the Content-Security-Policy, sign-in lockouts (django-axes),
`check --deploy`, and the limits on request size and write rate."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from planning.models import Finding
from tests import factories as f
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

User = get_user_model()
HX = {"HX-Request": "true"}
DEMO_PASSWORD = "throughline-demo"  # load_demo's default

# --- Content-Security-Policy --------------------------------------------------------------


def parse_csp(header: str) -> dict[str, list[str]]:
    policy = {}
    for directive in header.split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


class PageScan(HTMLParser):
    """What CSP cares about on a page: script tags, inline styles and handlers, meta config."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_styles: list[str] = []
        self.handlers: list[str] = []
        self.javascript_urls: list[str] = []
        self.style_elements: list[dict[str, str | None]] = []
        self.meta: dict[str, str | None] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.style_elements.append(attributes)
        if tag == "meta" and attributes.get("name"):
            self.meta[attributes["name"]] = attributes.get("content")
        for name, value in attrs:
            if name == "style":
                self.inline_styles.append(f"<{tag} style={value!r}>")
            if name.startswith("on") or name.startswith("hx-on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if name in {"href", "src", "action", "formaction"} and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.javascript_urls.append(f"<{tag} {name}={value!r}>")


def scan(response) -> PageScan:
    page = PageScan()
    page.feed(response.content.decode())
    return page


@pytest.fixture
def demo():
    call_command("load_demo", "--allow-production", stdout=io.StringIO())


@pytest.fixture
def admin_user(demo):
    return User.objects.get(username="admin")


def main_pages() -> dict[str, str]:
    finding = Finding.objects.first()
    if finding is None:
        now = timezone.now()
        finding = Finding.objects.create(
            cycle=f.cycle("fy2099"),
            kind="blocker",
            rule="overdue",
            severity="high",
            identity=hashlib.sha256(b"csp-test").hexdigest(),
            message="A finding for the CSP test",
            first_seen=now,
            last_seen=now,
        )
    return {
        "journeys": reverse("journeys:list"),
        "journey": reverse("journeys:detail", args=["lifecycle"]),
        "squads": reverse("squads:list"),
        "squad": reverse("squads:detail", args=["first-90-days"]),
        "plan": reverse("squads:plan", args=["first-90-days"]),
        "new squad": reverse("squads:create"),
        "board": reverse("board:board"),
        "graph": reverse("board:graph"),
        "timeline": reverse("timeline"),
        "new dependency": reverse("board:create"),
        "findings": reverse("findings"),
        "finding": reverse("finding", args=[finding.pk]),
        "notifications": reverse("notifications"),
        "password change": reverse("password_change"),
        "admin": reverse("admin:index"),
        "admin squads": reverse("admin:squads_squad_changelist"),
        "admin user": reverse("admin:auth_user_change", args=[User.objects.first().pk]),
    }


def assert_strict_csp(response, name: str) -> str:
    """The policy is there and strict; returns the nonce the header allows."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{name}: no Content-Security-Policy header"
    policy = parse_csp(header)
    script_src = policy["script-src"]
    assert "'unsafe-inline'" not in script_src, name
    assert "'unsafe-eval'" not in script_src, name
    assert "'unsafe-inline'" not in policy["style-src"], name
    assert "'self'" in script_src
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    nonces = [v for v in script_src if v.startswith("'nonce-")]
    assert len(nonces) == 1, f"{name}: script-src has no nonce: {header}"
    return nonces[0][len("'nonce-") : -1]


def assert_page_fits_the_policy(response, name: str) -> None:
    nonce = assert_strict_csp(response, name)
    page = scan(response)
    assert page.scripts, f"{name}: no scripts at all?"
    for script in page.scripts:
        assert script.get("src"), f"{name}: inline script {script}"
        assert script.get("nonce") == nonce, f"{name}: script without the header's nonce {script}"
    for style in page.style_elements:
        assert style.get("nonce") == nonce, f"{name}: <style> without the header's nonce"
    assert page.inline_styles == [], f"{name}: inline styles {page.inline_styles}"
    assert page.handlers == [], f"{name}: inline event handlers {page.handlers}"
    assert page.javascript_urls == [], f"{name}: javascript: URLs {page.javascript_urls}"


def test_every_main_page_has_a_strict_policy_and_the_nonce_on_its_scripts(client, admin_user):
    client.force_login(admin_user)
    nonces = set()
    for name, url in main_pages().items():
        response = client.get(url)
        assert response.status_code == 200, f"{name} ({url}): {response.status_code}"
        assert_page_fits_the_policy(response, name)
        nonces.add(assert_strict_csp(response, name))
    assert len(nonces) == len(main_pages()), "a nonce must be new for every response"


def test_signed_out_pages_have_the_policy_too(client):
    for name in ("login", "password_reset", "password_reset_done", "password_reset_complete"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_page_fits_the_policy(response, name)


def test_htmx_is_configured_not_to_eval_or_inject_styles(client):
    import json

    page = scan(client.get(reverse("login")))
    config = json.loads(page.meta["htmx-config"])
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
    swapped = [rule["code"] for rule in config["responseHandling"] if rule.get("swap")]
    # A removed thing (410), too large a request (413) and too many writes (429) are told in
    # the alert area; other errors leave the page, and what is typed in it, as it is.
    assert "410|413|429" in swapped


def test_no_page_template_has_inline_script_style_or_handlers():
    pattern = re.compile(
        r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|hx-on|javascript:", re.IGNORECASE
    )
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        if "emails" in path.relative_to(ROOT).parts:
            continue  # HTML email needs inline styles, and is never served under the policy
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


# --- Sign-in lockouts (django-axes) -------------------------------------------------------

IP_A = "198.51.100.7"
IP_B = "203.0.113.9"
PASSWORD = "correct horse battery staple"
LOCKED = "Sign-in paused"


@pytest.fixture
def alice(alice):
    """The shared Alice, with a password to sign in with."""
    alice.set_password(PASSWORD)
    alice.save()
    return alice


def sign_in(client, username, password, ip=IP_A, url=None):
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, ip=IP_A, url=None):
    return [sign_in(client, username, "wrong guess", ip=ip, url=url) for _ in range(times)]


def normalised(response) -> str:
    """The page with what differs between any two responses (nonce, CSRF token) blanked."""
    text = response.content.decode()
    text = re.sub(r'nonce="[^"]*"', 'nonce=""', text)
    return re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', text)


def test_five_wrong_passwords_lock_out_even_the_right_one(client, alice):
    responses = fail(client, "alice", 4)
    assert [r.status_code for r in responses] == [200] * 4
    assert b"enter a correct username and password" in responses[-1].content

    fifth = sign_in(client, "alice", "wrong guess")
    assert fifth.status_code == 429
    assert LOCKED in fifth.content.decode()

    sixth = sign_in(client, "alice", PASSWORD)
    assert sixth.status_code == 429
    assert LOCKED in sixth.content.decode()
    assert "15 minutes" in sixth.content.decode()
    assert sixth["Retry-After"] == str(15 * 60)
    assert not signed_in(client)
    assert_strict_csp(sixth, "lockout page")


def test_an_unknown_username_gets_the_very_same_lockout(client, alice):
    fail(client, "alice", 5)
    known = sign_in(client, "alice", PASSWORD)
    fail(client, "nobody-by-that-name", 5)
    unknown = sign_in(client, "nobody-by-that-name", PASSWORD)

    assert known.status_code == unknown.status_code == 429
    assert normalised(known) == normalised(unknown)
    assert "alice" not in known.content.decode()
    assert "nobody-by-that-name" not in unknown.content.decode()


def test_a_lockout_from_one_address_does_not_lock_out_another(client, alice):
    fail(client, "alice", 5, ip=IP_A)
    assert sign_in(client, "alice", PASSWORD, ip=IP_A).status_code == 429

    response = sign_in(client, "alice", PASSWORD, ip=IP_B)
    assert response.status_code == 302
    assert signed_in(client)


def test_after_the_cool_off_the_person_can_sign_in(client, alice):
    fail(client, "alice", 5)
    assert sign_in(client, "alice", PASSWORD).status_code == 429

    # Sixteen minutes pass.
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_a_success_forgets_earlier_failures(client, alice):
    fail(client, "alice", 4)
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    fail(client, "alice", 4)
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_the_failure_limit_and_cool_off_are_settings(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=3)
    fail(client, "alice", 2)
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "3 minutes" in response.content.decode()


def test_password_reset_works_while_locked_out_and_ends_the_lockout(client, alice):
    fail(client, "alice", 5)
    assert sign_in(client, "alice", PASSWORD).status_code == 429

    response = client.post(
        reverse("password_reset"), {"email": "alice@example.com"}, REMOTE_ADDR=IP_A
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link, REMOTE_ADDR=IP_A).url  # Django swaps the token for a session
    new = "a brand new pass phrase"
    response = client.post(form_url, {"new_password1": new, "new_password2": new}, REMOTE_ADDR=IP_A)
    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")

    response = sign_in(client, "alice", new, ip=IP_A)
    assert response.status_code == 302
    assert signed_in(client)


def test_the_admin_sign_in_is_protected_too(client, alice):
    alice.is_staff = True
    alice.save()
    url = reverse("admin:login")
    fail(client, "alice", 4, url=url)
    response = sign_in(client, "alice", PASSWORD, url=url)
    assert response.status_code == 302  # four failures: still allowed
    client.post(reverse("admin:logout"))
    fail(client, "alice", 5, url=url)
    response = sign_in(client, "alice", PASSWORD, url=url)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()


def test_behind_trusted_proxies_the_forwarded_address_counts(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def via_proxy(client_ip, password):
        return client.post(
            reverse("login"),
            {"username": "alice", "password": password},
            REMOTE_ADDR=proxy,
            # A forged entry on the left is ignored: only the proxy's own entry is trusted.
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_ip}",
        )

    for _ in range(5):
        via_proxy(IP_A, "wrong guess")
    assert via_proxy(IP_A, PASSWORD).status_code == 429
    assert via_proxy(IP_B, PASSWORD).status_code == 302


# --- check --deploy ------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "DJANGO_", "AXES_", "WRITE_RATE", "DATA_UPLOAD"))
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "plan.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://plan.example.com",
            "THROUGHLINE_VAR_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_are_hardened(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT)"
    )
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "plan.example.com",
        "SECURE_HSTS_SECONDS": "600",
        "THROUGHLINE_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "throughline.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["True", "True", "True", "Lax", "600", "True"]


# --- Limits: body size and write rate ------------------------------------------------------


@pytest.fixture
def bob(bob, cycle):
    """The shared Bob, with the shared cycle there for him to choose."""
    return bob


def choose_cycle(client, **headers):
    return client.post(reverse("cycle_select"), {"cycle": "fy2027", "next": "/"}, **headers)


def test_a_too_large_body_is_413_with_a_plain_page(client, bob, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client.force_login(bob)
    response = client.post(reverse("cycle_select"), {"cycle": "fy2027", "next": "x" * 2000})
    assert response.status_code == 413
    text = response.content.decode()
    assert "Too much at once" in text
    assert "1 KB" in text
    assert response.headers.get("Content-Security-Policy")
    # Within the limit all is as before.
    assert choose_cycle(client).status_code == 302


def test_file_uploads_have_their_own_larger_limit(client, bob, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.UPLOAD_MAX_REQUEST_SIZE = 4096
    client.force_login(bob)

    def upload(size):
        data = {"cycle": "fy2027", "next": "/", "file": SimpleUploadedFile("a.csv", b"x" * size)}
        return client.post(reverse("cycle_select"), data)  # multipart

    assert upload(2000).status_code == 302
    response = upload(5000)
    assert response.status_code == 413
    assert "4 KB" in response.content.decode()


def test_a_too_large_body_before_sign_in_is_413_too(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post(reverse("login"), {"username": "x" * 2000, "password": "y"})
    assert response.status_code == 413


def test_a_too_large_htmx_request_gets_the_message_for_the_alert_area(client, bob, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client.force_login(bob)
    response = client.post(
        reverse("cycle_select"), {"cycle": "fy2027", "next": "x" * 2000}, headers=HX
    )
    assert response.status_code == 413
    assert response["HX-Retarget"] == "#alerts"
    assert response["HX-Reswap"] == "innerHTML"
    assert b"<html" not in response.content
    assert b'role="alert"' in response.content


def test_a_body_too_large_for_django_itself_is_413_not_400(rf, settings):
    """Without Content-Length (e.g. streamed), Django's own check raises; handler400 answers."""
    from django.core.exceptions import RequestDataTooBig

    from throughline.security import bad_request

    request = rf.post("/")
    assert bad_request(request, RequestDataTooBig("too big")).status_code == 413
    assert bad_request(request, Exception("other")).status_code == 400


def test_alerts_area_is_on_every_page(client, bob):
    client.force_login(bob)
    assert b'<div id="alerts"></div>' in client.get(reverse("squads:list")).content


def test_writes_past_the_limit_are_429_until_the_window_ends(client, cycle, bob, settings):
    settings.WRITE_RATE_LIMIT = 3
    client.force_login(bob)
    assert [choose_cycle(client).status_code for _ in range(3)] == [302] * 3

    response = choose_cycle(client)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many changes at once" in text
    assert "3 in 60 seconds" in text
    assert 1 <= int(response["Retry-After"]) <= 60
    # Reading goes on.
    assert client.get(reverse("squads:list")).status_code == 200
    # Signing out is always allowed.
    assert client.post(reverse("logout")).status_code == 302


def test_an_htmx_write_past_the_limit_gets_a_message_htmx_shows(client, cycle, bob, settings):
    settings.WRITE_RATE_LIMIT = 1
    client.force_login(bob)
    choose_cycle(client)
    response = choose_cycle(client, headers=HX)
    assert response.status_code == 429
    assert response["HX-Retarget"] == "#alerts"
    assert response["HX-Reswap"] == "innerHTML"
    assert b"<html" not in response.content
    assert b"Nothing was saved this time" in response.content


def test_each_person_has_their_own_count(client, cycle, bob, carol, settings):
    settings.WRITE_RATE_LIMIT = 1
    client.force_login(bob)
    choose_cycle(client)
    assert choose_cycle(client).status_code == 429
    client.force_login(carol)
    assert choose_cycle(client).status_code == 302


def test_the_window_is_fixed(client, cycle, bob, settings, monkeypatch):
    import core.limits as middleware

    settings.WRITE_RATE_LIMIT = 1
    client.force_login(bob)
    now = [1_000_000 * 60 + 30.0]
    monkeypatch.setattr(middleware, "_clock", lambda: now[0])
    assert choose_cycle(client).status_code == 302
    response = choose_cycle(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    now[0] += 30  # the next window
    assert choose_cycle(client).status_code == 302


def test_sign_in_is_not_rate_limited_but_left_to_axes(client, alice, settings):
    settings.WRITE_RATE_LIMIT = 1
    assert [r.status_code for r in fail(client, "alice", 3)] == [200] * 3


def test_zero_switches_the_rate_limit_off(client, cycle, bob, settings):
    settings.WRITE_RATE_LIMIT = 0
    client.force_login(bob)
    assert {choose_cycle(client).status_code for _ in range(5)} == {302}


def test_without_a_cache_writes_still_go_through(client, cycle, bob, settings, monkeypatch):
    import core.limits as middleware

    class Unreachable:
        def add(self, *args, **kwargs):
            raise ConnectionError("cache down")

    settings.WRITE_RATE_LIMIT = 1
    monkeypatch.setattr(middleware, "cache", Unreachable())
    client.force_login(bob)
    assert {choose_cycle(client).status_code for _ in range(3)} == {302}


# --- Cache-Control: what is sent to a signed-in person is private and not stored ----------


def _cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


def test_every_answer_to_a_signed_in_person_is_private_and_not_stored(client, cycle, bob):
    from api.models import ApiToken
    from squads import cowriting
    from squads.models import Membership

    squad = f.squad("first-90-days", dri=f.person("dana"), cycle=cycle)
    Membership.objects.create(squad=squad, person=bob, function="Product")
    client.force_login(bob)
    plan = reverse("squads:plan", args=[squad.key])
    section = reverse("squads:plan_section", args=[squad.key, "current-experience"])
    answers = {
        "home": client.get(reverse("home")),
        "plan": client.get(plan),
        "plan again (from the page cache)": client.get(plan),
        "board": client.get(reverse("board:board")),
        "htmx partial": client.get(section, headers=HX),
        "form post": client.post(reverse("api_tokens"), {"name": "laptop"}),
        "not found": client.get("/squads/no-such-squad/plan/"),
        "api with the session": client.get("/api/v1/cycles"),
    }
    _row, token = ApiToken.issue(user=bob, name="script")
    answers["api with a token"] = client.__class__(
        headers={"authorization": f"Bearer {token}"}
    ).get("/api/v1/cycles")
    answers["api with a bad token"] = client.__class__(
        headers={"authorization": "Bearer tl_made_up"}
    ).get("/api/v1/cycles")
    for name, response in answers.items():
        assert {"private", "no-store"} <= _cache_control(response), (name, response.status_code)
        assert "public" not in _cache_control(response), name

    # The co-writing poll keeps its answers: 204 and 304 with the ETag, now unstored too.
    live = reverse("squads:plan_live", args=[squad.key])
    poll = {"t": cowriting.poll_token(user_id=bob.pk, squad_id=squad.pk)}
    etag = cowriting.stamp(squad.pk).etag
    unchanged = client.get(live, {**poll, "since": etag})
    assert unchanged.status_code == 204
    assert unchanged["ETag"] == f'"{etag}"'
    revalidated = client.get(live, poll, headers={"If-None-Match": f'"{etag}"'})
    assert revalidated.status_code == 304
    assert revalidated["ETag"] == f'"{etag}"'
    for response in (unchanged, revalidated):
        assert {"private", "no-store", "no-cache"} <= _cache_control(response)


# --- Sessions: the database decides which are alive ---------------------------------------


def test_a_session_still_in_the_cache_but_ended_in_the_database_signs_no_one_in(
    client, bob, django_assert_max_num_queries
):
    from django.contrib.sessions.models import Session
    from django.core.cache import cache

    from api.models import ApiToken

    client.force_login(bob)
    assert client.get(reverse("api_tokens")).status_code == 200
    key = client.session.session_key
    assert cache.get(f"django.contrib.sessions.cached_db{key}") is not None
    # What a sign-out leaves behind when it could not reach the cache: the row is gone.
    Session.objects.filter(session_key=key).delete()

    page = client.get(reverse("api_tokens"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    refused = client.post(reverse("api_tokens"), {"name": "after sign-out"})
    assert refused.status_code == 302
    assert not ApiToken.objects.exists()
    assert client.get("/api/v1/cycles").status_code == 401
    assert cache.get(f"django.contrib.sessions.cached_db{key}") is None


def test_a_live_session_from_the_cache_costs_no_extra_query(client, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(bob)
    client.get(reverse("api_tokens"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("api_tokens")).status_code == 200
    sessions = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]
    # One statement reads the account and confirms the session together.
    assert len(sessions) == 1
    assert "auth_user" in sessions[0]
