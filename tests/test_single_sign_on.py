"""The company sign-in's decisions with plain values (core/single_sign_on.py), the ID token
checks mozilla-django-oidc leaves out, the administrators' one-time link and the logs. The
whole sign-in, through a browser and a real provider, is tests/test_browser_sso.py."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import json
import logging
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.core.management import CommandError, call_command
from django.test import Client

from core.access import LEADERSHIP, OPERATIONS
from core.models import CompanyAccount
from core.single_sign_on import (
    CompanyIdentity,
    SignInPolicy,
    SignInRefused,
    company_sign_in,
    signin_link_tokens,
)
from tests import factories as f
from throughline.logs import RedactSecrets
from throughline.oidc import CompanyBackend

pytestmark = pytest.mark.django_db

User = get_user_model()
ISSUER = "https://login.example.com"
POLICY = SignInPolicy(
    role_groups={LEADERSHIP: frozenset({"leads"}), OPERATIONS: frozenset({"pmo"})}
)


def identity(subject: str = "s-1", **claims) -> CompanyIdentity:
    return CompanyIdentity(issuer=ISSUER, subject=subject, **claims)


def sign_in(identity: CompanyIdentity, policy: SignInPolicy):
    return company_sign_in(identity=identity, policy=policy)


def roles(person) -> set[str]:
    return set(person.groups.values_list("name", flat=True))


def test_a_linked_account_signs_in_by_its_link_alone_whatever_address_it_shows_later():
    ada = f.person("ada")
    first = sign_in(identity(email="ada@example.com", email_verified=True), policy=SignInPolicy())
    later = sign_in(
        identity(email="a.lovelace@new.example.com", email_verified=False),
        policy=SignInPolicy(),
    )
    assert first == later == ada
    assert CompanyAccount.objects.get().email == "ada@example.com"


def test_another_company_account_with_a_linked_persons_address_is_refused():
    ada = f.person("ada")
    sign_in(identity("s-1", email="ada@example.com", email_verified=True), policy=POLICY)
    with pytest.raises(SignInRefused, match="linked to another company account"):
        sign_in(identity("s-2", email="ada@example.com", email_verified=True), policy=POLICY)
    assert list(CompanyAccount.objects.values_list("user", "subject")) == [(ada.pk, "s-1")]


@pytest.mark.parametrize("verified", [False, None, "true", 1])
def test_only_a_verified_address_links(verified):
    f.person("ada")
    with pytest.raises(SignInRefused, match="does not say that ada@example.com is verified"):
        sign_in(
            identity(email="ada@example.com", email_verified=verified),
            policy=SignInPolicy(create_people=True),
        )
    assert not CompanyAccount.objects.exists()
    assert User.objects.count() == 1


def test_refusals_say_why_and_change_nothing():
    f.person("ada")
    twin = User.objects.create(username="ada2", email="ADA@example.com")
    with pytest.raises(SignInRefused, match="Several Throughline accounts use ada@example.com"):
        sign_in(identity(email="ada@example.com", email_verified=True), policy=POLICY)
    twin.delete()
    with pytest.raises(SignInRefused, match="shared no email address"):
        sign_in(identity(email_verified=True), policy=POLICY)
    gone = f.person("gone")
    gone.is_active = False
    gone.save()
    with pytest.raises(SignInRefused, match="deactivated"):
        sign_in(
            identity("s-9", email="gone@example.com", email_verified=True, groups=("leads",)),
            policy=POLICY,
        )
    assert roles(gone) == set()
    assert not CompanyAccount.objects.exists()


def test_new_people_get_a_free_username_and_a_profile():
    f.person("grace")
    made = sign_in(
        identity(
            email="g.hopper@example.com",
            email_verified=True,
            name="  Grace   Hopper ",
            preferred_username="grace",
        ),
        policy=SignInPolicy(create_people=True),
    )
    assert made.username == "grace2"
    assert made.profile.display_name == "Grace Hopper"
    assert not made.has_usable_password()
    odd = sign_in(
        identity("s-2", email="odd@example.com", email_verified=True, preferred_username="<b>"),
        policy=SignInPolicy(create_people=True),
    )
    assert odd.username == "b" and odd.profile.display_name == "odd"


def test_groups_give_and_take_only_the_mapped_roles():
    ada = f.person("ada")
    f.in_group(ada, OPERATIONS)
    only_leadership = SignInPolicy(role_groups={LEADERSHIP: frozenset({"leads"})})
    claims = {"email": "ada@example.com", "email_verified": True}
    sign_in(identity(groups=("leads", "all"), **claims), policy=only_leadership)
    assert roles(ada) == {LEADERSHIP, OPERATIONS}
    sign_in(identity(groups=(), **claims), policy=only_leadership)
    assert roles(ada) == {OPERATIONS}
    sign_in(identity(groups=("pmo",), **claims), policy=POLICY)
    assert roles(ada) == {OPERATIONS}
    # No groups claim configured: roles stay as the app has them.
    Group.objects.get_or_create(name=LEADERSHIP)
    sign_in(identity(groups=None, **claims), policy=POLICY)
    assert roles(ada) == {OPERATIONS}


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"iss": "https://evil.example.com"}, "another issuer"),
        ({"aud": "someone-else"}, "another client"),
        ({"aud": ["throughline", "other"], "azp": "other"}, "given to another client"),
        ({"sub": ""}, "names nobody"),
    ],
)
def test_an_id_token_from_another_issuer_or_for_another_client_is_refused(
    settings, change, problem
):
    settings.OIDC_ISSUER = ISSUER
    backend = CompanyBackend.__new__(CompanyBackend)
    backend.OIDC_RP_CLIENT_ID = "throughline"
    good = {"iss": ISSUER, "aud": "throughline", "sub": "s-1"}
    backend.check_id_token(good)
    with pytest.raises(SuspiciousOperation, match=problem):
        backend.check_id_token({**good, **change})


def test_the_sign_in_pages_answer_404_until_the_company_sign_in_is_configured(settings):
    settings.OIDC_ISSUER = ""
    client = Client()
    assert client.get("/accounts/company/").status_code == 404
    assert client.get("/accounts/company/callback/?state=x&code=y").status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page


def test_an_administrators_link_works_once_within_15_minutes(monkeypatch):
    root = User.objects.create_superuser("root", "root@example.com", "not-used-here-1")
    out = io.StringIO()
    call_command("signin_link", "root", stdout=out)
    path = out.getvalue().strip().split("127.0.0.1:8000", 1)[1]
    client = Client()
    assert client.get(path).status_code == 200
    assert "_auth_user_id" not in client.session  # asking is not signing in
    late = signin_link_tokens._now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(signin_link_tokens, "_now", lambda: late)
    assert client.post(path).status_code == 404
    monkeypatch.undo()
    assert client.post(path).status_code == 302
    assert client.session["_auth_user_id"] == str(root.pk)
    assert Client().post(path).status_code == 404
    with pytest.raises(CommandError, match="No account"):
        call_command("signin_link", "nobody", stdout=io.StringIO())


def test_the_logs_leave_out_the_sign_in_links_token_and_the_providers_code():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"GET /accounts/signin-link/MQ/cz1abc-0123456789abcdef/ HTTP/1.1" 200 and '
        '"GET /accounts/company/callback/?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj" 302',
        (),
        None,
    )
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert "cz1abc" not in message and "SplxlOBeZQQYbYS6WxSbIA" not in message
    assert "/accounts/signin-link/MQ/[redacted]/" in message and "?code=[redacted]" in message


def test_a_discovery_document_naming_another_issuer_is_not_followed(settings):
    """Whoever answers at the discovery address must be the configured issuer, or the
    sign-in goes nowhere (and says so) rather than to endpoints someone else chose."""
    served = {
        "issuer": "https://evil.example.com",
        "authorization_endpoint": "https://login.example.com/authorize",
    }

    class Discovery(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(served).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Discovery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        issuer = f"http://127.0.0.1:{server.server_address[1]}"
        settings.OIDC_ISSUER = issuer
        settings.OIDC_DISCOVERY_URL = f"{issuer}/.well-known/openid-configuration"
        settings.OIDC_RP_CLIENT_ID = "throughline"
        response = Client().get("/accounts/company/")
        assert response.status_code == 502
        assert "did not answer as expected" in response.content.decode()
        served["issuer"] = issuer
        response = Client().get("/accounts/company/")
        assert response.status_code == 302 and response["Location"].startswith(
            "https://login.example.com/authorize?"
        )
    finally:
        server.shutdown()
        server.server_close()


def test_with_the_company_sign_in_people_cannot_set_their_own_email_address(settings):
    # The first company sign-in links to the account showing the verified address: a person
    # who could type a colleague's address on their account page could take their link.
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_RP_CLIENT_ID = "throughline"
    colleague_address = "dana@example.com"
    person = f.person("mallory")
    client = Client()
    client.force_login(person)

    page = client.get("/account/")
    assert "set by your company" in page.content.decode()
    client.post("/account/", {"email": colleague_address, "daily_digest": "on"})

    person.refresh_from_db()
    assert person.email == "mallory@example.com"
    assert not get_user_model().objects.filter(email=colleague_address).exists()


def test_without_the_company_sign_in_people_set_their_own_email_address(settings):
    settings.OIDC_ISSUER = ""
    person = f.person("mallory")
    client = Client()
    client.force_login(person)

    client.post("/account/", {"email": "mallory@work.example.com", "daily_digest": "on"})

    person.refresh_from_db()
    assert person.email == "mallory@work.example.com"
