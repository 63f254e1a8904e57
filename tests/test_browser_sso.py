"""Signing in with the company account, end to end: Chromium, the live server, and a real
OpenID Connect provider on 127.0.0.1 (node's oidc-provider, pinned in package.json, started
by tests/oidc_provider.mjs with a static client and the accounts each test writes).

Without node or the provider's package these tests are skipped, except on CI, where that is
a failure (tests/conftest.py's rule for the browser tests).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from core.access import LEADERSHIP, OPERATIONS
from core.models import CompanyAccount, Invitation
from tests import factories as f
from tests import test_browser
from tests.conftest import ROOT, _fail_on_ci, on_ci
from tests.test_browser import accessibility_problems, expect, opened_page, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# The browser tests' fixtures: one Chromium, where screenshots go.
browser = test_browser.browser
artifacts = test_browser.artifacts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

User = get_user_model()
PROVIDER_SCRIPT = ROOT / "tests" / "oidc_provider.mjs"
PROVIDER_PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID = "throughline"
CLIENT_SECRET = "tests-only-client-secret"
BUTTON = "Sign in with Acme"
READY_SECONDS = 30
PASSWORD = "correct horse battery staple"


def provider_missing() -> str | None:
    if shutil.which("node") is None:
        return "needs node (apt-get install nodejs npm) to run the OpenID provider"
    if not PROVIDER_PACKAGE.is_file():
        return "needs oidc-provider in node_modules: run `make test` (or `npm ci`)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Provider:
    """The running provider: its issuer, and the accounts it knows, as {login: claims}."""

    def __init__(self, issuer: str, accounts_file: Path):
        self.issuer = issuer
        self.accounts_file = accounts_file

    def accounts(self, accounts: dict[str, dict]) -> None:
        self.accounts_file.write_text(json.dumps(accounts), encoding="utf-8")


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory) -> Iterator[Provider]:
    if reason := provider_missing():
        if on_ci():
            _fail_on_ci(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    accounts_file = folder / "accounts.json"
    accounts_file.write_text("{}", encoding="utf-8")
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "issuer": issuer,
                "port": port,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uri": f"{live_server.url}/accounts/company/callback/",
                "post_logout_redirect_uri": f"{live_server.url}/accounts/login/",
                "accounts": str(accounts_file),
            }
        ),
        encoding="utf-8",
    )
    log = folder / "provider.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["node", str(PROVIDER_SCRIPT), str(config)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while "ready" not in log.read_text(encoding="utf-8", errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the OpenID provider did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Provider(issuer, accounts_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def company(settings, provider) -> Provider:
    """The company sign-in switched on against the provider, groups mapped to roles."""
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_DISCOVERY_URL = f"{provider.issuer}/.well-known/openid-configuration"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_BUTTON_LABEL = BUTTON
    settings.OIDC_CREATE_USERS = False
    settings.OIDC_GROUPS_CLAIM = "groups"
    settings.OIDC_LEADERSHIP_GROUPS = ["planning-leads", "executives"]
    settings.OIDC_OPERATIONS_GROUPS = ["pmo"]
    settings.LOCAL_PASSWORDS = True
    return provider


@pytest.fixture
def ada():
    """Imported from the planning file: an account with a password nobody knows."""
    person = f.person("ada", "Ada Lovelace")
    person.set_password(PASSWORD)
    person.save()
    return person


@contextmanager
def fresh_page(browser: Browser, live_server) -> Iterator[Page]:
    """A browser of its own (no cookies, at Throughline or at the provider)."""
    with opened_page(browser, live_server.url) as page:
        yield page


def at_provider(page: Page, login: str) -> None:
    """From the sign-in page to the provider's, signing in there as `login`."""
    page.goto("/accounts/login/")
    page.get_by_role("link", name=BUTTON).click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("the provider accepts any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def company_sign_in(page: Page, login: str) -> None:
    at_provider(page, login)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def groups_on_person_page(page: Page, username: str):
    page.goto(f"/people/{username}/")
    return page.locator("dt", has_text="Groups").locator("xpath=following-sibling::dd[1]")


def roles(person) -> set[str]:
    return set(person.groups.values_list("name", flat=True))


def test_the_first_sign_in_links_the_person_by_verified_email_and_groups_set_roles(
    browser, live_server, company, ada, artifacts
):
    company.accounts(
        {
            "ada.lovelace": {
                "email": "ADA@example.com",
                "email_verified": True,
                "name": "Ada L.",
                "groups": ["planning-leads", "everyone"],
            }
        }
    )
    with fresh_page(browser, live_server) as page:
        page.goto("/accounts/login/")
        expect(page.get_by_role("link", name=BUTTON)).to_be_visible()
        expect(page.get_by_label("Password")).to_be_visible()
        screenshot(page, artifacts, "sign-in-with-company")
        assert not accessibility_problems(page), accessibility_problems(page)

        company_sign_in(page, "ada.lovelace")
        # The person she already was: her name from the planning file, not the provider's.
        expect(page.locator(".whoami")).to_have_text("Ada Lovelace")
        expect(groups_on_person_page(page, "ada")).to_have_text(re.compile(r"^\s*Leadership\s*$"))
    assert User.objects.count() == 1
    link = CompanyAccount.objects.get()
    assert (link.user, link.subject, link.issuer) == (ada, "ada.lovelace", company.issuer)

    # At the provider she moves from the planning leads to the PMO: the next sign-in follows.
    company.accounts(
        {"ada.lovelace": {"email": "ada@example.com", "email_verified": True, "groups": ["pmo"]}}
    )
    with fresh_page(browser, live_server) as page:
        company_sign_in(page, "ada.lovelace")
        expect(groups_on_person_page(page, "ada")).to_have_text(re.compile(r"^\s*Operations\s*$"))
    assert roles(ada) == {OPERATIONS}

    # In no mapped group (the provider leaves the claim out): both roles go.
    company.accounts({"ada.lovelace": {"email": "ada@example.com", "email_verified": True}})
    with fresh_page(browser, live_server) as page:
        company_sign_in(page, "ada.lovelace")
        expect(groups_on_person_page(page, "ada")).to_have_text(re.compile(r"^\s*None\s*$"))
    assert roles(ada) == set()


def test_a_role_without_a_mapping_stays_as_set_in_the_app(
    browser, live_server, company, ada, settings
):
    settings.OIDC_OPERATIONS_GROUPS = []
    ada.groups.add(Group.objects.get_or_create(name=OPERATIONS)[0])
    company.accounts(
        {"ada": {"email": "ada@example.com", "email_verified": True, "groups": ["executives"]}}
    )
    with fresh_page(browser, live_server) as page:
        company_sign_in(page, "ada")
    assert roles(ada) == {LEADERSHIP, OPERATIONS}


def test_an_unverified_email_never_links_nor_makes_an_account(
    browser, live_server, company, ada, settings, artifacts
):
    # Whoever controls an account at the provider may type a colleague's address into it.
    settings.OIDC_CREATE_USERS = True
    company.accounts(
        {
            "mallory": {
                "email": "ada@example.com",
                "email_verified": False,
                "groups": ["executives"],
            },
            "trudy": {"email": "newcomer@example.com"},  # no email_verified at all
        }
    )
    for login, email in (("mallory", "ada@example.com"), ("trudy", "newcomer@example.com")):
        with fresh_page(browser, live_server) as page:
            at_provider(page, login)
            expect(page.get_by_role("heading", name="Not signed in")).to_be_visible()
            expect(page.get_by_role("alert")).to_contain_text(
                f"does not say that {email} is verified"
            )
            if login == "mallory":
                screenshot(page, artifacts, "company-sign-in-refused")
                assert not accessibility_problems(page), accessibility_problems(page)
            page.goto("/people/ada/")
            expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert not CompanyAccount.objects.exists()
    assert list(User.objects.values_list("username", flat=True)) == ["ada"]
    assert roles(ada) == set()


def test_a_new_person_is_refused_by_default_and_made_when_allowed(
    browser, live_server, company, ada, settings
):
    company.accounts(
        {
            "g.hopper": {
                "email": "grace@example.com",
                "email_verified": True,
                "name": "Grace Hopper",
                "preferred_username": "grace",
                "groups": ["pmo"],
            }
        }
    )
    with fresh_page(browser, live_server) as page:
        at_provider(page, "g.hopper")
        expect(page.get_by_role("alert")).to_contain_text(
            "Throughline has no account for grace@example.com"
        )
    assert not User.objects.filter(email="grace@example.com").exists()

    settings.OIDC_CREATE_USERS = True
    with fresh_page(browser, live_server) as page:
        company_sign_in(page, "g.hopper")
        expect(page.locator(".whoami")).to_have_text("Grace Hopper")
        page.goto("/people/")
        expect(page.locator("#main").get_by_role("link", name="Grace Hopper")).to_be_visible()
        expect(groups_on_person_page(page, "grace")).to_have_text(re.compile(r"^\s*Operations\s*$"))
    grace = User.objects.get(email="grace@example.com")
    assert grace.username == "grace" and not grace.has_usable_password()
    assert grace.profile.display_name == "Grace Hopper"


def test_an_open_invitation_lets_the_invited_person_in(browser, live_server, company, ada):
    from django.utils import timezone

    now = timezone.now()
    invitation = Invitation.objects.create(
        email="linus@example.com",
        token_digest="1" * 64,
        sent_at=now,
        expires_at=now + timezone.timedelta(days=7),
        invited_by=ada,
    )
    company.accounts({"linus": {"email": "linus@example.com", "email_verified": True}})
    with fresh_page(browser, live_server) as page:
        company_sign_in(page, "linus")
        expect(page.locator(".whoami")).to_have_text("linus")
    invitation.refresh_from_db()
    assert invitation.account.email == "linus@example.com" and invitation.accepted_at


def test_the_state_ties_the_callback_to_the_browser_that_started_the_sign_in(
    browser, live_server, company, ada
):
    """Signing someone else's browser in as yourself (login CSRF) takes handing it the
    provider's answer to a sign-in: its state is unknown to their session, so it is refused,
    and a state works once."""
    company.accounts(
        {
            "mallory": {"email": "mallory@example.com", "email_verified": True},
            "ada": {"email": "ada@example.com", "email_verified": True},
        }
    )
    mallory = f.person("mallory", "Mallory")
    with fresh_page(browser, live_server) as attacker:
        with attacker.expect_request("**/accounts/company/callback/**") as sent:
            company_sign_in(attacker, "mallory")
        answer = sent.value.url
        assert "state=" in answer and "code=" in answer
        expect(attacker.locator(".whoami")).to_have_text("Mallory")

        with fresh_page(browser, live_server) as victim:
            # Handed to a browser that never started a sign-in.
            response = victim.goto(answer)
            assert response is not None and response.status == 400
            expect(victim.get_by_role("alert")).to_contain_text("was not started from this browser")
            # Handed to one whose own sign-in is under way, at the provider's page.
            victim.goto("/accounts/login/")
            victim.get_by_role("link", name=BUTTON).click()
            expect(victim.locator("input[name=login]")).to_be_visible()
            response = victim.goto(answer)
            assert response is not None and response.status == 400
            victim.goto("/")
            expect(victim).to_have_url(re.compile(r"/accounts/login/"))

        # Used once already: the same answer again is refused in its own browser too.
        response = attacker.goto(answer)
        assert response is not None and response.status == 400
    assert list(CompanyAccount.objects.values_list("user", flat=True)) == [mallory.pk]


def test_signing_out_ends_the_sign_in_at_the_provider_too(
    browser, live_server, company, ada, settings
):
    """At a shared computer, signing out of Throughline after a company sign-in also signs
    out at the provider: the next person who presses the button is asked who they are,
    instead of coming in as Ada. With it switched off, the provider's sign-in stays (which
    shows this test can tell the two apart)."""
    company.accounts({"ada.lovelace": {"email": "ada@example.com", "email_verified": True}})
    with fresh_page(browser, live_server) as page:
        settings.OIDC_SIGN_OUT_AT_PROVIDER = False
        company_sign_in(page, "ada.lovelace")
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name=BUTTON)).to_be_visible()
        settings.OIDC_SIGN_OUT_AT_PROVIDER = True
        page.get_by_role("link", name=BUTTON).click()
        # Still signed in at the provider: straight back in, asked nothing.
        expect(page.locator(".whoami")).to_have_text("Ada Lovelace")

        page.get_by_role("button", name="Sign out").click()
        # The provider asks to confirm, then sends the browser back to the sign-in page.
        page.get_by_role("button", name="Yes, sign me out").click()
        expect(page).to_have_url(f"{live_server.url}/accounts/login/")
        expect(page.get_by_role("link", name=BUTTON)).to_be_visible()
        page.get_by_role("link", name=BUTTON).click()
        expect(page.locator("input[name=login]")).to_be_visible()
    # Signed out here too: no session of Ada's is left.
    live = Session.objects.filter(expire_date__gt=timezone.now())
    assert all(s.get_decoded().get("_auth_user_id") != str(ada.pk) for s in live)


def test_with_local_passwords_off_only_the_company_and_an_admin_link_sign_in(
    browser, live_server, company, ada, settings
):
    settings.LOCAL_PASSWORDS = False
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    company.accounts({"ada": {"email": "ada@example.com", "email_verified": True}})
    with fresh_page(browser, live_server) as page:
        page.goto("/accounts/login/")
        expect(page.get_by_role("link", name=BUTTON)).to_be_visible()
        expect(page.get_by_label("Password")).to_have_count(0)
        expect(page.get_by_role("link", name="Forgot your password?")).to_have_count(0)
        company_sign_in(page, "ada")
        page.goto("/account/")
        expect(page.get_by_role("link", name="Change your password")).to_have_count(0)

    # The right password, posted anyway, and every password page: refused, nobody signed in.
    client = Client()
    for path in ("/accounts/login/", "/admin/login/"):
        response = client.post(path, {"username": "root", "password": PASSWORD})
        assert response.status_code == 403
        assert "Passwords are switched off" in response.content.decode()
    response = client.post("/accounts/password_reset/", {"email": "ada@example.com"})
    assert response.status_code == 403
    # An invitation's link, which would ask for a password: the company sign-in takes it.
    assert client.get("/signup/some-token/").status_code == 403
    assert "_auth_user_id" not in client.session
    signed_in = Client()
    signed_in.force_login(ada)
    for path in ("/accounts/password_reset/", "/accounts/password_change/"):
        assert signed_in.get(path).status_code == 403
    response = signed_in.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "n3w-Passw0rd!",
            "new_password2": "n3w-Passw0rd!",
        },
    )
    assert response.status_code == 403
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)

    # An administrator's way in: a one-time link from manage.py.
    out = io.StringIO()
    call_command("signin_link", "root", stdout=out)
    link = out.getvalue().strip()
    path = link[link.index("/accounts/signin-link/") :]
    with fresh_page(browser, live_server) as page:
        page.goto(path)
        page.get_by_role("button", name="Sign in as root").click()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    with fresh_page(browser, live_server) as page:
        response = page.goto(path)
        assert response is not None and response.status == 404
        expect(page.get_by_role("alert")).to_contain_text("This sign-in link does not work")
    with pytest.raises(Exception, match="not an active administrator"):
        call_command("signin_link", "ada", stdout=io.StringIO())
    root.refresh_from_db()
    assert root.last_login is not None
