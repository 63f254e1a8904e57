"""Two-factor sign-in over real requests: setting it up from the account page, the code step
after the password, recovery codes, the limit on codes tried, turning it off, the setting
that requires it, and what it leaves alone (API tokens, other sign-in backends)."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from types import SimpleNamespace

import pytest
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from api.models import ApiToken
from core import limits, two_factor
from core.models import RecoveryCode
from tests import factories as f

PASSWORD = "correct horse battery staple"
CODE_STEP = "/accounts/code/"


class CompanyIdentityBackend(ModelBackend):
    """Stands in for the company's identity provider: a sign-in backend other than the
    password one, which asks its own second factor."""


@pytest.fixture
def alice(alice):
    alice.set_password(PASSWORD)
    alice.email = "alice@example.com"
    alice.save()
    return alice


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app holding `secret` (as the page shows it) shows now, or
    `steps_ahead` periods of 30 seconds later."""
    key = b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def sign_in(client, username="alice", password=PASSWORD, url=None, **extra):
    return client.post(
        url or reverse("login"), {"username": username, "password": password, **extra}
    )


def shown_secret(response) -> str:
    match = re.search(r'id="two-factor-secret" value="([A-Z2-7 ]+)"', response.content.decode())
    assert match, "the set-up page shows the key to type"
    return match.group(1)


def shown_codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9-]+)</code></li>", response.content.decode())


def set_up(client) -> tuple[str, list[str]]:
    """Alice, signed in, turns two-factor sign-in on from her account page; returns the secret
    and the recovery codes she was shown, and signs out."""
    client.post(reverse("two_factor"))
    secret = shown_secret(client.get(reverse("two_factor")))
    response = client.post(reverse("two_factor_confirm"), {"code": code_for(secret)})
    assert response.status_code == 200
    codes = shown_codes(response)
    client.post(reverse("logout"))
    return secret, codes


@pytest.fixture
def alice_on(client, alice):
    """Alice with two-factor sign-in on, signed out."""
    assert sign_in(client).status_code == 302
    return set_up(client)


def signed_in_fully(client) -> bool:
    return client.get(reverse("squads:list")).status_code == 200


# --- setting it up ----------------------------------------------------------------------------


def test_the_account_page_leads_to_setting_it_up(client, alice):
    sign_in(client)
    page = client.get(reverse("account"))
    assert "Two-factor sign-in" in page.content.decode()
    assert "Off: signing in asks only for your password." in page.content.decode()
    assert reverse("two_factor") in page.content.decode()


def test_it_is_on_only_once_a_code_from_the_shown_secret_confirms_it(client, alice):
    sign_in(client)
    start = client.post(reverse("two_factor"))
    assert start.status_code == 302
    page = client.get(reverse("two_factor"))
    body = page.content.decode()
    secret = shown_secret(page)
    assert "<svg" in body and 'aria-label="QR code for your authenticator app"' in body
    assert " style=" not in body.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert not two_factor.is_on(alice)

    wrong = client.post(reverse("two_factor_confirm"), {"code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right." in wrong.content.decode()
    assert not two_factor.is_on(alice)
    assert not RecoveryCode.objects.exists()

    right = client.post(reverse("two_factor_confirm"), {"code": code_for(secret)})
    assert right.status_code == 200
    assert "Two-factor sign-in is on." in right.content.decode()
    codes = shown_codes(right)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert two_factor.is_on(alice)
    assert "On: signing in with your password" in client.get(reverse("account")).content.decode()
    # Shown once: the page afterwards says how many are left, never the codes.
    again = client.get(reverse("two_factor")).content.decode()
    assert "10 unused recovery codes" in again
    assert not any(code in again for code in codes)


def test_turning_it_on_signs_out_the_sessions_signed_in_with_the_password_alone(alice):
    """Someone who signed in elsewhere with Alice's password (her laptop, or whoever took
    it) is signed out once she turns two-factor sign-in on; the browser she turned it on
    from stays signed in, and so does anyone else's session."""
    here, laptop, bob = Client(), Client(), Client()
    sign_in(here)
    sign_in(laptop)
    other = f.person("bob")
    other.set_password(PASSWORD)
    other.save()
    sign_in(bob, username="bob")
    assert signed_in_fully(laptop) and signed_in_fully(bob)

    here.post(reverse("two_factor"))
    secret = shown_secret(here.get(reverse("two_factor")))
    done = here.post(reverse("two_factor_confirm"), {"code": code_for(secret)})

    assert "1 other session of yours, signed in elsewhere with the password alone, was " \
        "signed out." in done.content.decode()  # fmt: skip
    # Tokens are not sessions: the page says so, and where to revoke one.
    assert "API tokens you made keep working" in done.content.decode()
    assert reverse("api_tokens") in done.content.decode()
    assert signed_in_fully(here)
    assert not signed_in_fully(laptop)
    assert laptop.get(reverse("squads:list")).status_code == 302  # to sign in again
    assert signed_in_fully(bob)


def test_a_set_up_belongs_to_the_session_that_began_it(alice):
    """Someone who knows only Alice's password starts a set-up with their own app and leaves
    it. Alice's page never shows their secret, her app's code never confirms it, and when she
    sets up her own, their secret stops working: they cannot get past the code step."""
    attacker, owner = Client(), Client()
    sign_in(attacker)
    attacker.post(reverse("two_factor"))
    planted = shown_secret(attacker.get(reverse("two_factor")))

    sign_in(owner)
    page = owner.get(reverse("two_factor")).content.decode()
    assert "two-factor-secret" not in page and planted.replace(" ", "") not in page
    # A code of the planted secret sent from her session confirms nothing.
    assert owner.post(reverse("two_factor_confirm"), {"code": code_for(planted)}).status_code == 302
    assert not two_factor.is_on(alice)

    owner.post(reverse("two_factor"))
    hers = shown_secret(owner.get(reverse("two_factor")))
    assert hers != planted
    turned_on = owner.post(reverse("two_factor_confirm"), {"code": code_for(hers)})
    assert turned_on.status_code == 200 and two_factor.is_on(alice)
    # The attacker's leftover set-up is gone with everything else they had.
    assert (
        attacker.post(reverse("two_factor_confirm"), {"code": code_for(planted)}).status_code == 302
    )
    thief = Client()
    sign_in(thief)
    assert thief.post(CODE_STEP, {"code": code_for(planted, steps_ahead=1)}).status_code != 302
    assert not signed_in_fully(thief)
    assert TOTPDevice.objects.filter(user=alice).count() == 1


def test_recovery_codes_are_stored_only_as_digests(client, alice_on):
    _, codes = alice_on
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {RecoveryCode._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert RecoveryCode.objects.count() == 10
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored


def test_starting_again_replaces_a_secret_never_confirmed(client, alice):
    sign_in(client)
    client.post(reverse("two_factor"))
    first = shown_secret(client.get(reverse("two_factor")))
    client.post(reverse("two_factor"))
    second = shown_secret(client.get(reverse("two_factor")))
    assert first != second
    refused = client.post(reverse("two_factor_confirm"), {"code": code_for(first)})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=alice).count() == 1


# --- signing in -------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(client, alice_on):
    secret, _ = alice_on
    response = sign_in(client, next="/squads/")
    assert response.status_code == 302
    # The sign-in page sends on to /squads/; the gate turns that into the code step.
    step = client.get(response["Location"])
    assert step.status_code == 302
    assert step["Location"] == f"{CODE_STEP}?next=%2Fsquads%2F"
    page = client.get(step["Location"])
    assert page.status_code == 200
    assert "Your code" in page.content.decode()
    assert 'aria-label="Main"' not in page.content.decode()  # no navigation yet

    done = client.post(CODE_STEP, {"code": code_for(secret, steps_ahead=1), "next": "/squads/"})
    assert done.status_code == 302 and done["Location"] == "/squads/"
    assert signed_in_fully(client)


def test_before_the_code_no_page_is_reached(client, alice_on, alice):
    sign_in(client)
    for name in ("home", "squads:list", "board:board", "account", "two_factor", "people"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(CODE_STEP), name
    assert client.get("/admin/")["Location"].startswith(CODE_STEP)
    # htmx is told to load the code step as a page.
    htmx = client.get(reverse("squads:list"), headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == CODE_STEP
    # A change is refused the same way, and nothing changes.
    saved = client.post(reverse("account"), {"email": "mallory@example.com"})
    assert saved["Location"] == CODE_STEP
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    # The API, open without a sign-in (its own 401s), takes the session for nobody.
    api = client.get("/api/v1/squads")
    assert api.status_code == 401
    assert set(api.json()) == {"detail", "errors"}


def test_a_page_no_view_answers_shows_a_held_session_as_nobody(client, alice_on, alice):
    """The 404 page of a made-up address, asked between the password and the code, shows no
    name, navigation or notifications: the session reaches nothing yet."""
    alice.first_name = "Alice"
    alice.save()
    sign_in(client)

    page = client.get("/no-such-page/")

    assert page.status_code == 404
    body = page.content.decode()
    assert 'aria-label="Main"' not in body and "Sign out" not in body
    assert "Alice" not in body
    # The code step itself still knows whose code it asks for.
    assert client.get(CODE_STEP).status_code == 200


def test_the_co_writing_poll_takes_a_held_session_for_nobody(client, alice_on, needing):
    sign_in(client)
    poll = client.get(reverse("squads:plan_live", args=[needing.key]))
    assert poll.status_code == 401
    assert "Sign in again" in poll.content.decode()


def test_signing_out_is_allowed_between_the_steps(client, alice_on):
    sign_in(client)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("squads:list"))["Location"].startswith(reverse("login"))


def test_a_wrong_code_is_refused_with_a_clear_message(client, alice_on):
    sign_in(client)
    response = client.post(CODE_STEP, {"code": "123456"})
    assert response.status_code == 400
    assert "That code is not right." in response.content.decode()
    assert client.get(reverse("squads:list"))["Location"].startswith(CODE_STEP)


def test_a_code_cannot_be_used_twice(client, alice_on):
    secret, _ = alice_on
    code = code_for(secret, steps_ahead=1)
    sign_in(client)
    assert client.post(CODE_STEP, {"code": code}).status_code == 302
    client.post(reverse("logout"))
    sign_in(client)
    again = client.post(CODE_STEP, {"code": code})
    assert again.status_code == 400
    assert "each code works once" in again.content.decode()
    assert not signed_in_fully(client)


def test_the_code_used_to_set_it_up_does_not_sign_in(client, alice):
    sign_in(client)
    client.post(reverse("two_factor"))
    secret = shown_secret(client.get(reverse("two_factor")))
    code = code_for(secret)
    client.post(reverse("two_factor_confirm"), {"code": code})
    client.post(reverse("logout"))
    sign_in(client)
    assert client.post(CODE_STEP, {"code": code}).status_code == 400


def test_a_recovery_code_signs_in_once(client, alice_on):
    _, codes = alice_on
    sign_in(client)
    assert client.post(CODE_STEP, {"code": codes[0].upper()}).status_code == 302
    assert signed_in_fully(client)
    client.post(reverse("logout"))
    sign_in(client)
    again = client.post(CODE_STEP, {"code": codes[0]})
    assert again.status_code == 400
    assert not signed_in_fully(client)
    assert client.post(CODE_STEP, {"code": codes[1]}).status_code == 302
    assert "8 unused recovery codes" in client.get(reverse("two_factor")).content.decode()


def test_codes_tried_are_limited(client, alice_on, settings):
    secret, _ = alice_on
    settings.TWO_FACTOR_ATTEMPT_LIMIT = 3
    sign_in(client)
    for _ in range(3):
        assert client.post(CODE_STEP, {"code": "111111"}).status_code == 400
    refused = client.post(CODE_STEP, {"code": code_for(secret, steps_ahead=1)})
    assert refused.status_code == 429
    assert "Too many codes tried (3 in 5 minutes)" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert not signed_in_fully(client)


def test_no_code_is_checked_while_the_cache_cannot_count(client, alice_on, monkeypatch):
    secret, _ = alice_on
    sign_in(client)
    monkeypatch.setattr(limits, "_hit", lambda key, window: None)
    refused = client.post(CODE_STEP, {"code": code_for(secret, steps_ahead=1)})
    assert refused.status_code == 429
    assert "cannot check codes right now" in refused.content.decode()
    assert not signed_in_fully(client)


def test_the_code_step_sends_on_only_within_the_site(client, alice_on):
    secret, _ = alice_on
    sign_in(client)
    done = client.post(
        CODE_STEP, {"code": code_for(secret, steps_ahead=1), "next": "https://evil.example/"}
    )
    assert done["Location"] == reverse("home")


def test_the_code_step_without_a_pending_sign_in(client, alice):
    assert client.get(CODE_STEP)["Location"].startswith(reverse("login"))
    sign_in(client)
    assert client.get(CODE_STEP)["Location"] == reverse("home")


def test_the_admin_sign_in_asks_for_the_code_too(client, alice_on, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    response = sign_in(client, url=reverse("admin:login"))
    assert response.status_code == 302
    assert client.get("/admin/")["Location"].startswith(CODE_STEP)


def test_another_sign_in_backend_skips_the_step(client, alice_on, alice, settings):
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        f"{__name__}.CompanyIdentityBackend",
    ]
    client.force_login(alice, backend=f"{__name__}.CompanyIdentityBackend")
    assert signed_in_fully(client)
    client.logout()
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert not signed_in_fully(client)


def test_a_company_sign_in_is_not_asked_for_the_code(alice_on, alice, settings, monkeypatch):
    """The company's provider did its own checks, its second factor included: a sign-in
    through it goes straight in, even for someone with two-factor sign-in on here, and is
    not sent to set one up when everyone must have one."""
    from throughline import oidc

    settings.OIDC_ISSUER = "https://login.example.com"
    settings.OIDC_RP_CLIENT_ID = "throughline"
    settings.REQUIRE_TWO_FACTOR = True
    # The provider's answer, checked: Alice (tests/test_browser_sso.py runs a real one).
    provider = SimpleNamespace(authenticate=lambda request, **kwargs: alice)
    monkeypatch.setattr(oidc, "CompanyBackend", lambda: provider)
    client = Client()
    session = client.session
    session["oidc_states"] = {"st": {"nonce": "n", "code_verifier": "v"}}
    session.save()

    back = client.get(reverse("company_sign_in_callback"), {"state": "st", "code": "c"})

    assert back.status_code == 302 and not back["Location"].startswith(CODE_STEP)
    assert signed_in_fully(client)


def test_api_tokens_are_unaffected(client, alice_on, alice):
    _, token = ApiToken.issue(user=alice, name="script")
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/squads", headers=auth).status_code == 200
    # Even from a browser half way through signing in, the token alone decides.
    sign_in(client)
    assert client.get("/api/v1/squads", headers=auth).status_code == 200


# --- recovery codes, turning off --------------------------------------------------------------


def test_new_recovery_codes_replace_the_old_for_a_current_code(client, alice_on):
    secret, old = alice_on
    sign_in(client)
    client.post(CODE_STEP, {"code": old[0]})
    refused = client.post(reverse("two_factor_recovery_codes"), {"renew-code": "999999"})
    assert refused.status_code == 400
    response = client.post(
        reverse("two_factor_recovery_codes"), {"renew-code": code_for(secret, steps_ahead=1)}
    )
    new = shown_codes(response)
    assert len(new) == 10 and not set(new) & set(old)
    client.post(reverse("logout"))
    sign_in(client)
    assert client.post(CODE_STEP, {"code": old[1]}).status_code == 400
    assert client.post(CODE_STEP, {"code": new[0]}).status_code == 302


def test_turning_it_off_asks_for_the_password_or_a_code(client, alice_on, alice):
    _, codes = alice_on
    sign_in(client)
    client.post(CODE_STEP, {"code": codes[0]})
    refused = client.post(reverse("two_factor_off"), {"answer": "not my password"})
    assert refused.status_code == 400
    assert "neither your password nor a current code" in refused.content.decode()
    assert two_factor.is_on(alice)

    off = client.post(reverse("two_factor_off"), {"answer": PASSWORD})
    assert off["Location"] == reverse("account")
    assert not two_factor.is_on(alice)
    assert not RecoveryCode.objects.filter(user=alice).exists()
    client.post(reverse("logout"))
    sign_in(client)
    assert signed_in_fully(client)


def test_turning_it_off_with_a_code(client, alice_on, alice):
    secret, codes = alice_on
    sign_in(client)
    client.post(CODE_STEP, {"code": codes[0]})
    off = client.post(reverse("two_factor_off"), {"answer": code_for(secret, steps_ahead=1)})
    assert off.status_code == 302
    assert not two_factor.is_on(alice)


# --- required for everyone with a password ----------------------------------------------------


def test_when_required_people_set_it_up_before_anything_else(client, alice, settings):
    settings.REQUIRE_TWO_FACTOR = True
    sign_in(client)
    for name in ("home", "squads:list", "account"):
        response = client.get(reverse(name))
        assert response["Location"].startswith(reverse("two_factor")), name
    page = client.get(reverse("two_factor"))
    assert "asks everyone who signs in with a password" in page.content.decode()
    assert 'aria-label="Main"' not in page.content.decode()
    client.post(reverse("two_factor"))
    secret = shown_secret(client.get(reverse("two_factor")))
    response = client.post(reverse("two_factor_confirm"), {"code": code_for(secret)})
    assert len(shown_codes(response)) == 10
    assert signed_in_fully(client)

    # And it stays on.
    off = client.post(reverse("two_factor_off"), {"answer": PASSWORD})
    assert off.status_code == 403
    assert "it stays on" in off.content.decode()
    assert two_factor.is_on(alice)


def test_when_required_a_sign_in_through_another_backend_is_not_sent_to_set_up(
    client, alice, settings
):
    settings.REQUIRE_TWO_FACTOR = True
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        f"{__name__}.CompanyIdentityBackend",
    ]
    client.force_login(alice, backend=f"{__name__}.CompanyIdentityBackend")
    assert signed_in_fully(client)


def test_when_required_a_newcomer_sets_it_up_right_after_signing_up(client, leo, settings):
    from django.core import mail

    from core import services

    settings.REQUIRE_TWO_FACTOR = True
    services.invitation_send(email="nadia@example.com", by=leo)
    token = re.search(r"/signup/([^/\s]+)/", mail.outbox[-1].body)[1]
    client.get(reverse("signup", args=[token]))
    done = client.post(
        reverse("signup_form"),
        {
            "display_name": "Nadia Novak",
            "username": "nadia",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert done.status_code == 302
    assert client.get(reverse("squads:list"))["Location"].startswith(reverse("two_factor"))


def test_one_code_sent_by_many_at_once_signs_in_once(transactional_db, settings):
    """The same code from several requests at the same moment: one is accepted."""
    import threading

    from django.contrib.auth import get_user_model
    from django.db import close_old_connections

    settings.TWO_FACTOR_ATTEMPT_LIMIT = 0  # the limit is not what is tested here
    user = get_user_model().objects.create_user("racer", password=PASSWORD)
    device = TOTPDevice.objects.create(user=user, confirmed=True)
    totp = TOTP(device.bin_key)
    code = f"{totp.token():06d}"
    tries = 6
    start = threading.Barrier(tries)
    results: list[bool] = []
    failures: list[BaseException] = []

    def attempt() -> None:
        try:
            start.wait()
            results.append(two_factor.code_check(user=user, code=code).ok)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(results) == [False] * (tries - 1) + [True]
