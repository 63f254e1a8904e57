"""Signing in with the company's OpenID Connect provider, and switching local passwords off.

mozilla-django-oidc runs the authorization code flow: `company_sign_in` keeps a random state,
nonce and PKCE verifier in the session and sends the browser to the provider; the provider
sends it back to `company_sign_in_callback` with a code, which is exchanged for tokens. The ID
token's signature (the provider's published keys), issuer, audience, expiry and nonce are
checked, the userinfo claims read, and core.single_sign_on decides who the person is and
which roles their groups give. A callback whose state this browser did not start is refused.

The provider's endpoints come from its discovery document (OIDC_ISSUER, or
OIDC_DISCOVERY_URL), read when first needed and kept for an hour.

A company sign-in is marked in the session (`signed_in_with_company`): the provider did its
own checks (its second factor included), so Throughline asks for none of its own.

Signing out (`SignOutView`) after a company sign-in sends the browser on to the provider's
end-session endpoint, with the ID token as its hint and the sign-in page to come back to, so
that the provider's sign-in ends too (OIDC_SIGN_OUT_AT_PROVIDER, on by default; nothing changes
for a provider that offers no such endpoint).

With LOCAL_PASSWORDS=0 the password form, password reset and password change refuse
(`LocalPasswordsMiddleware`); an administrator still gets in with a one-time link from
`manage.py signin_link` (`signin_link` below).
"""

from __future__ import annotations

import logging
import threading
import time

import jwt
import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LogoutView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode, urlsafe_base64_decode
from django.views.decorators.http import require_GET, require_http_methods
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from core import two_factor
from core.access import LEADERSHIP, OPERATIONS
from core.single_sign_on import (
    CompanyIdentity,
    SignInPolicy,
    SignInRefused,
    company_sign_in,
    configured,
    signin_link_tokens,
)

logger = logging.getLogger(__name__)

# The backend the session names: a company sign-in makes an ordinary session, read on every
# request like any other (throughline/sessions.py).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
SIGNED_IN_WITH_KEY = "throughline_signed_in_with"
COMPANY = "company"
DISCOVERY_SECONDS = 60 * 60

BAD_STATE = (
    "This sign-in was not started from this browser, or it was finished already, so it was "
    "refused. Start again from the sign-in page."
)
CANCELLED = "The sign-in was cancelled at your company's sign-in page. Nothing changed."
UNANSWERED = (
    "Your company's sign-in did not answer as expected, so you were not signed in. Try "
    "again in a moment; if it keeps happening, tell an administrator."
)
PASSWORDS_OFF = (
    "Passwords are switched off in Throughline: sign in with your company account instead."
)


def signed_in_with_company(request: HttpRequest) -> bool:
    """Whether this session began with a company sign-in (no local second step is asked)."""
    return request.session.get(SIGNED_IN_WITH_KEY) == COMPANY


# --- the provider's discovery document ------------------------------------------------------


class ProviderUnreachable(Exception):
    pass


_discovery_lock = threading.Lock()
_discovery: dict[str, tuple[float, dict]] = {}


def provider_metadata() -> dict:
    """The provider's discovery document, read at most once an hour per process."""
    url = settings.OIDC_DISCOVERY_URL
    now = time.monotonic()
    with _discovery_lock:
        kept = _discovery.get(url)
        if kept and now - kept[0] < DISCOVERY_SECONDS:
            return kept[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("the company sign-in's discovery document: %s", type(exc).__name__)
        raise ProviderUnreachable from exc
    if not isinstance(metadata, dict) or str(metadata.get("issuer", "")).rstrip("/") != (
        settings.OIDC_ISSUER
    ):
        logger.warning("the company sign-in's discovery document names another issuer")
        raise ProviderUnreachable
    with _discovery_lock:
        _discovery[url] = (now, metadata)
    return metadata


_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_FIXED = {
    "OIDC_AUTHENTICATION_CALLBACK_URL": "company_sign_in_callback",
    "OIDC_STORE_ACCESS_TOKEN": False,
}


def _setting(attr: str, *default):
    if attr in _ENDPOINTS:
        endpoint = provider_metadata().get(_ENDPOINTS[attr])
        if not endpoint:
            raise ProviderUnreachable
        return endpoint
    if attr in _FIXED:
        return _FIXED[attr]
    if attr == "OIDC_STORE_ID_TOKEN":  # the provider wants it back when the person signs out
        return bool(settings.OIDC_SIGN_OUT_AT_PROVIDER)
    return import_from_settings(attr, *default)


def sign_in_policy() -> SignInPolicy:
    return SignInPolicy(
        create_people=settings.OIDC_CREATE_USERS,
        role_groups={
            LEADERSHIP: frozenset(settings.OIDC_LEADERSHIP_GROUPS),
            OPERATIONS: frozenset(settings.OIDC_OPERATIONS_GROUPS),
        },
    )


class CompanyBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code exchange and signature check, plus the ID token's issuer
    and audience, and core.single_sign_on for who the person is. Not one of
    AUTHENTICATION_BACKENDS: only the callback below calls it."""

    get_settings = staticmethod(_setting)

    def check_id_token(self, payload: dict) -> None:
        """What mozilla-django-oidc leaves unchecked: who issued the ID token, and for whom."""
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
            raise SuspiciousOperation("The ID token names another issuer.")
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is meant for another client.")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("The ID token was given to another client.")
        if not payload.get("sub"):
            raise SuspiciousOperation("The ID token names nobody.")

    def get_userinfo(self, access_token, id_token, payload):
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about someone else.")
        # Some providers put a claim (groups, often) in the ID token only.
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        self.check_id_token(payload)
        claims = self.get_userinfo(access_token, id_token, payload)
        groups = None
        if settings.OIDC_GROUPS_CLAIM:
            value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
            if isinstance(value, str):
                value = [value]
            groups = tuple(str(g) for g in value) if isinstance(value, list) else ()
        identity = CompanyIdentity(
            issuer=settings.OIDC_ISSUER,
            subject=str(payload["sub"]),
            email=str(claims.get("email") or ""),
            # A boolean, or the word as some providers send it.
            email_verified=claims.get("email_verified") in (True, "true"),
            name=str(claims.get("name") or ""),
            preferred_username=str(claims.get("preferred_username") or ""),
            groups=groups,
        )
        return company_sign_in(identity=identity, policy=sign_in_policy())


# --- the views ------------------------------------------------------------------------------


class _StartView(OIDCAuthenticationRequestView):
    get_settings = staticmethod(_setting)


_start = _StartView.as_view()


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(
        request, "registration/company_sign_in_refused.html", {"message": message}, status=status
    )


@login_not_required
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Sends the browser to the company's sign-in page, remembering where it was going."""
    if not configured():
        raise Http404
    try:
        return _start(request)
    except ProviderUnreachable:
        return _refused(request, UNANSWERED, status=502)


@login_not_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back: the state must be one this browser's
    session started, and is used once."""
    if not configured():
        raise Http404
    states = request.session.get("oidc_states")
    state = request.GET.get("state", "")
    if not isinstance(states, dict) or not state or state not in states:
        logger.warning("a company sign-in callback with a state this session did not start")
        return _refused(request, BAD_STATE, status=400)
    started = states.pop(state)
    request.session.modified = True
    if request.GET.get("error") or not request.GET.get("code"):
        return _refused(request, CANCELLED, status=400)
    try:
        person = CompanyBackend().authenticate(
            request, nonce=started.get("nonce"), code_verifier=started.get("code_verifier")
        )
    except SignInRefused as refusal:
        logger.info("a company sign-in was refused")
        return _refused(request, refusal.message, status=403)
    except SuspiciousOperation as exc:
        # A token whose signature or nonce does not hold.
        logger.warning("a company sign-in's tokens did not check out: %s", exc)
        return _refused(request, UNANSWERED, status=400)
    except (
        requests.RequestException,
        ProviderUnreachable,
        jwt.PyJWTError,
        ValueError,
        KeyError,
        TypeError,
    ) as exc:
        logger.warning("a company sign-in failed: %s", type(exc).__name__)
        return _refused(request, UNANSWERED, status=502)
    if person is None:
        return _refused(request, UNANSWERED, status=502)
    going = request.session.pop("oidc_login_next", None)
    auth.login(request, person, backend=SESSION_BACKEND)
    request.session[SIGNED_IN_WITH_KEY] = COMPANY
    # The provider did its own checks, its second factor included: no step of ours is owed,
    # though the session names the password backend the login() above marked it for.
    request.session.pop(two_factor.PENDING_CODE, None)
    request.session.pop(two_factor.PENDING_SETUP, None)
    if not (
        going
        and url_has_allowed_host_and_scheme(
            going, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        going = resolve_url(settings.LOGIN_REDIRECT_URL)
    return redirect(going)


@login_not_required
@require_http_methods(["GET", "POST"])
def signin_link(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """An administrator's one-time way in, from `manage.py signin_link`: the GET asks (so a
    link previewer opening it does not use it up), the POST signs in."""
    User = auth.get_user_model()
    try:
        person = User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        person = None
    valid = (
        person is not None
        and person.is_superuser
        and person.is_active
        and signin_link_tokens.check_token(person, token)
    )
    if not valid:
        return render(request, "registration/signin_link.html", {"valid": False}, status=404)
    if request.method == "POST":
        auth.login(request, person, backend=SESSION_BACKEND)
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signin_link.html", {"valid": True, "person": person})


# --- local passwords ------------------------------------------------------------------------

PASSWORD_ROUTES = {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "password_change",
    "password_change_done",
    # An invitation's sign-up asks for a password; the company sign-in takes the invitation.
    "signup",
    "signup_form",
}


class LocalPasswordsMiddleware:
    """LOCAL_PASSWORDS=0: the sign-in form's POST and every password page answer 403 with a
    sentence pointing to the company sign-in, whoever asks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if settings.LOCAL_PASSWORDS:
            return None
        name = request.resolver_match.url_name if request.resolver_match else None
        # The admin's sign-in form and password change too ("admin:login" and so on).
        if name in PASSWORD_ROUTES or (name == "login" and request.method == "POST"):
            return _refused(request, PASSWORDS_OFF, status=403)
        return None


def sign_in_options(request: HttpRequest) -> dict:
    """The sign-in page's choices: the company button's label, and whether the password form
    shows."""
    return {
        "company_sign_in": settings.OIDC_BUTTON_LABEL if configured() else "",
        "local_passwords": settings.LOCAL_PASSWORDS,
    }


# --- signing out ------------------------------------------------------------------------------


def provider_sign_out_url(request: HttpRequest, id_token: str) -> str:
    """Where the browser goes to end the provider's sign-in ("" when it offers no such place
    or it is switched off): its end-session endpoint, told who signs out and where to send
    the browser back to (the sign-in page, which the provider must have registered)."""
    if not (configured() and settings.OIDC_SIGN_OUT_AT_PROVIDER and id_token):
        return ""
    endpoint = provider_metadata().get("end_session_endpoint", "")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return ""
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(resolve_url("login")),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


class SignOutView(LogoutView):
    """Django's sign-out (POST only, CSRF-checked); after a company sign-in, on to the
    provider to end its sign-in too. The way on is a page that follows a link there at once,
    not a redirect: a form may only post to this site (the Content-Security-Policy's
    form-action), which browsers hold to the redirects that follow it too."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        company = signed_in_with_company(request)
        id_token = request.session.get("oidc_id_token", "") if company else ""
        response = super().post(request, *args, **kwargs)  # the session ends here
        try:
            going = provider_sign_out_url(request, id_token)
        except ProviderUnreachable:
            going = ""  # signed out here all the same; the provider's sign-in stays
        if not going:
            return response
        page = render(request, "registration/signing_out.html", {"going": going})
        add_never_cache_headers(page)  # it carries the ID token the provider asks back
        return page
