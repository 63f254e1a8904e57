"""Two-factor sign-in for people who sign in with a password: a code from an authenticator
app (TOTP, django-otp's `TOTPDevice`) after the password, or one of their recovery codes.

How a sign-in gets its second step: Django's `user_logged_in` signal reaches `signed_in`
below, whatever page signed the person in (the sign-in page, the admin's, the sign-up
form). When the sign-in went through one of `TWO_FACTOR_BACKENDS` (the password backend)
and the person has two-factor sign-in on, the session is marked as waiting for the code;
with `REQUIRE_TWO_FACTOR` on and no authenticator yet, as waiting for one to be set up.
`throughline.two_factor.TwoFactorMiddleware` keeps such a session to those pages and
signing out. A sign-in through any other backend (the company's identity provider, which
asks its own second factor) is never marked. API tokens are not sessions and never meet
the step.

The marks live in the session, so telling a signed-in request apart costs no query.

Codes: a TOTP code is checked with the device row locked, and django-otp refuses any code
whose time step is not later than the last one accepted, so a code cannot be used twice,
even by two requests at once. Recovery codes are random, stored as SHA-256 digests, and
marked used by one conditional UPDATE. Every code tried counts towards
`core.limits.over_two_factor_limit` until a right one clears the count.
"""

from __future__ import annotations

import re
import secrets
from base64 import b32encode
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.limits import over_two_factor_limit, two_factor_attempts_forget
from core.models import RecoveryCode
from core.services import token_digest

# Session keys: the password was right and the code is still to come; or, with
# REQUIRE_TWO_FACTOR, an authenticator is still to be set up.
PENDING_CODE = "two_factor_pending"
PENDING_SETUP = "two_factor_setup"
# The secret this session is setting up (its TOTPDevice's pk): see setup_device.
SETUP_DEVICE = "two_factor_setup_device"

RECOVERY_CODE_COUNT = 10
# Four groups of four letters and digits (80 random bits), easy to read aloud: no 0/o, 1/l.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS = 4
_TOTP_CODE = re.compile(r"\d{6}")

WRONG_CODE = (
    "That code is not right. Type the six digits your authenticator app shows now "
    "(each code works once), or one of your recovery codes."
)
WRONG_SETUP_CODE = (
    "That code is not right. Type the six digits your authenticator app shows now for "
    "Throughline; if it never matches, check that your phone's clock is set automatically."
)
WRONG_PASSWORD_OR_CODE = "That is neither your password nor a current code."


@dataclass(frozen=True)
class Checked:
    """A code tried: accepted, or refused with the sentence to show (and, when too many were
    tried, the seconds to wait)."""

    ok: bool
    message: str = ""
    wait: int = 0


def device_for(user) -> TOTPDevice | None:
    """The person's authenticator, once confirmed."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def setup_device(request) -> TOTPDevice | None:
    """The secret this session is setting up, waiting for its first code; None when this
    session started none. A set-up belongs to the session that began it: another session of
    the same person (someone who knows only the password, say) never sees its secret, and
    never has its own secret confirmed by the owner's app."""
    pk = request.session.get(SETUP_DEVICE)
    if not isinstance(pk, int):
        return None
    return TOTPDevice.objects.filter(pk=pk, user=request.user, confirmed=False).first()


def is_on(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def applies_to(request) -> bool:
    """Whether the step is asked of the sign-in just made: it went through a password
    backend. Read from the session, where `login()` wrote it, since a view that names the
    backend (the sign-up form) leaves the account without one."""
    return request.session.get(BACKEND_SESSION_KEY) in settings.TWO_FACTOR_BACKENDS


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# ---------------------------------------------------------------------------------------
# Signing in
# ---------------------------------------------------------------------------------------


def signed_in(sender, request, user, **kwargs) -> None:
    """`user_logged_in`: mark the session when the sign-in still owes its second step."""
    if request is None or not hasattr(request, "session") or not applies_to(request):
        return
    if is_on(user):
        request.session[PENDING_CODE] = True
    elif settings.REQUIRE_TWO_FACTOR and user.has_usable_password():
        request.session[PENDING_SETUP] = True


def session_passed(request) -> None:
    """The second step is done: the session may go anywhere, under a new key."""
    request.session.pop(PENDING_CODE, None)
    request.session.pop(PENDING_SETUP, None)
    request.session.cycle_key()


# ---------------------------------------------------------------------------------------
# Checking codes
# ---------------------------------------------------------------------------------------


def _normalised(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _limited(user) -> Checked | None:
    over = over_two_factor_limit(user)
    if over is None:
        return None
    wait, message = over
    return Checked(ok=False, message=message, wait=wait)


def _totp_accepts(user, code: str, *, confirmed: bool, pk: int | None = None) -> bool:
    if not _TOTP_CODE.fullmatch(code):
        return False
    with transaction.atomic():
        # Locked: two requests with the same code cannot both find its time step unused.
        devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=confirmed)
        if pk is not None:
            devices = devices.filter(pk=pk)
        device = devices.order_by("-pk").first()
        return device is not None and device.verify_token(code)


def _recovery_accepts(user, code: str) -> bool:
    if len(code) != 4 * _RECOVERY_GROUPS:
        return False
    used = RecoveryCode.objects.filter(
        user=user, digest=token_digest(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return used == 1


def code_check(*, user, code: str, wrong: str = WRONG_CODE) -> Checked:
    """A code at sign-in (or to change two-factor settings): the authenticator's current
    code, or an unused recovery code, which is used up."""
    refused = _limited(user)
    if refused:
        return refused
    code = _normalised(code)
    if _totp_accepts(user, code, confirmed=True) or _recovery_accepts(user, code):
        two_factor_attempts_forget(user)
        return Checked(ok=True)
    return Checked(ok=False, message=wrong)


def password_or_code_check(*, user, answer: str) -> Checked:
    """Turning two-factor sign-in off: the person's password, or a current code."""
    refused = _limited(user)
    if refused:
        return refused
    code = _normalised(answer)
    if (
        (answer and user.check_password(answer))
        or _totp_accepts(user, code, confirmed=True)
        or _recovery_accepts(user, code)
    ):
        two_factor_attempts_forget(user)
        return Checked(ok=True)
    return Checked(ok=False, message=WRONG_PASSWORD_OR_CODE)


# ---------------------------------------------------------------------------------------
# Setting up, new recovery codes, turning off
# ---------------------------------------------------------------------------------------


def two_factor_begin(*, user) -> TOTPDevice:
    """A new authenticator secret waiting to be confirmed (any earlier unconfirmed one goes)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def two_factor_confirm(*, user, device: TOTPDevice, code: str) -> tuple[Checked, list[str]]:
    """The first code from the app confirms `device`'s secret (the one this session set up):
    two-factor sign-in is on, every other secret of the person goes, and the person gets
    their recovery codes (returned here, never stored readable)."""
    refused = _limited(user)
    if refused:
        return refused, []
    if not _totp_accepts(user, _normalised(code), confirmed=False, pk=device.pk):
        return Checked(ok=False, message=WRONG_SETUP_CODE), []
    two_factor_attempts_forget(user)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        codes = recovery_codes_renew(user=user)
    return Checked(ok=True), codes


def recovery_codes_renew(*, user) -> list[str]:
    """New recovery codes; the old ones stop working."""
    codes = [
        "-".join(
            "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))
            for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, digest=token_digest(_normalised(code))) for code in codes
        )
    return codes


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def two_factor_turn_off(*, user) -> None:
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
