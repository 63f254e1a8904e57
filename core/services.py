"""Writes about people: invitations and signing up, deactivating and reactivating an account,
and a person's function and groups.

An invitation is a one-time sign-up link emailed to an address without an account. Its token
is random (`secrets`), shown only in that email, and stored only as a SHA-256 digest; it
expires after INVITATION_DAYS and works once. Sending an invitation again makes a new token,
so the older link stops working.

Deactivating a person keeps everything they wrote and every role they hold (a deactivated DRI
stays the squad's DRI until someone hands the role over, see squads.services.dri_handover),
but they can no longer sign in or use an API token, and every session they had ends.

Who may do these is core.access's business (`can_manage_people`, `can_manage_person`); these
functions check what holds whoever asks: nobody deactivates themselves or the last
administrator, an address with an account is not invited, a link works once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.access import LEADERSHIP, OPERATIONS
from core.models import Capacity, Invitation, Profile
from core.people import display_name, function_name
from core.validators import has_surrogate, is_blank

logger = logging.getLogger(__name__)

User = get_user_model()

# The groups people are put in from the app; others (if any) are left as they are.
GROUPS = (LEADERSHIP, OPERATIONS)
STALE = "stale"
FUNCTION_MAX_LENGTH = 100
NAME_MAX_LENGTH = 200

LINK_NOT_VALID = (
    "This sign-up link does not work: it may have been replaced by a newer invitation. "
    "Ask whoever invited you to send it again."
)
LINK_EXPIRED = "This sign-up link has expired. Ask whoever invited you to send a new invitation."
LINK_USED = "This sign-up link was used already: its account exists. Sign in instead."


# ---------------------------------------------------------------------------------------
# Invitations
# ---------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    """What is stored of a sign-up token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def _clean_email(email: str) -> str:
    email = User.objects.normalize_email((email or "").strip())
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": "Enter an email address such as ada@example.com."}
        ) from None
    if len(email) > 254:
        raise ValidationError({"email": "Use an email address of at most 254 characters."})
    return email


def _account_with(email: str):
    return User.objects.filter(email__iexact=email).select_related("profile").first()


def _refuse_if_account(email: str) -> None:
    account = _account_with(email)
    if account is not None:
        raise ValidationError(
            {
                "email": f"{email} already has an account ({display_name(account)}), so it "
                "needs no invitation. If they cannot sign in, they can reset their password "
                "from the sign-in page."
            }
        )


class _NotSent(Exception):
    pass


def _signup_link(token: str) -> str:
    return settings.THROUGHLINE_URL + reverse("signup", args=[token])


def _send(invitation: Invitation, token: str, by: AbstractBaseUser) -> None:
    inviter = " ".join(display_name(by).split())  # one line: it goes in the subject
    expires = timezone.localtime(invitation.expires_at)
    body = "\n".join(
        [
            "Hello,",
            "",
            f"{inviter} invites you to Throughline, where the company plans together around "
            "its customers' journey: squads, their objectives, their plans and what they "
            "need from each other.",
            "",
            "Make your account with this link. It works once, until "
            f"{expires:%d %B %Y, %H:%M} ({settings.TIME_ZONE}):",
            "",
            _signup_link(token),
            "",
            "If you did not expect this invitation, ignore this email: nothing happens "
            "without the link.",
        ]
    )
    message = EmailMessage(
        subject=f"{inviter} invites you to Throughline",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    try:
        mailers.default.send_messages([message])
    except Exception as exc:
        # The message names the mail server's complaint, never the link.
        logger.warning("Could not send an invitation email: %s", type(exc).__name__)
        raise _NotSent from exc


NOT_SENT = (
    "The invitation email could not be sent, so nothing changed. Check the mail settings "
    "(EMAIL_HOST and friends) or try again later."
)


def invitation_send(*, email: str, by: AbstractBaseUser) -> Invitation:
    """Invite this address: email it a new sign-up link. An open invitation to the same
    address is sent again instead (its older link stops working). Nothing is stored when
    the email cannot be sent."""
    email = _clean_email(email)
    _refuse_if_account(email)
    token, digest = _new_token()
    now = timezone.now()
    expires = now + timedelta(days=settings.INVITATION_DAYS)
    try:
        with transaction.atomic():
            invitation = (
                Invitation.objects.select_for_update()
                .filter(email__iexact=email, accepted_at__isnull=True)
                .first()
            )
            if invitation is None:
                invitation = Invitation.objects.create(
                    email=email, token_digest=digest, invited_by=by, sent_at=now, expires_at=expires
                )
            else:
                invitation.token_digest, invitation.invited_by = digest, by
                invitation.sent_at, invitation.expires_at = now, expires
                invitation.save(
                    update_fields=["token_digest", "invited_by", "sent_at", "expires_at"]
                )
            _send(invitation, token, by)
    except IntegrityError as exc:
        # Someone invited the same address a moment ago.
        raise ValidationError(
            {"email": f"{email} was invited by someone else a moment ago."}
        ) from exc
    except _NotSent:
        raise ValidationError(NOT_SENT) from None
    return invitation


def invitation_resend(*, invitation: Invitation, by: AbstractBaseUser) -> Invitation:
    """Send an open invitation again, with a new link; the old one stops working."""
    if invitation.is_accepted:
        raise ValidationError(f"{invitation.email} has signed up already.")
    return invitation_send(email=invitation.email, by=by)


def invitation_cancel(*, invitation: Invitation, by: AbstractBaseUser) -> None:
    """Withdraw an open invitation: its link stops working."""
    deleted, _ = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).delete()
    if not deleted:
        raise ValidationError(f"{invitation.email} has signed up already.")


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation whose link carries this token, used or not; None for any other."""
    if not token or len(token) > 200:
        return None
    return invitation_for_digest(token_digest(token))


def invitation_for_digest(digest: str) -> Invitation | None:
    """The invitation of this token digest (what a sign-up in progress keeps), or None."""
    if not digest:
        return None
    return Invitation.objects.filter(token_digest=digest).first()


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why this link cannot make an account now, or None when it can."""
    if invitation is None:
        return LINK_NOT_VALID
    if invitation.is_accepted:
        return LINK_USED
    if invitation.is_expired(timezone.now()):
        return LINK_EXPIRED
    return None


def invitation_accept(
    *, digest: str, display_name: str, username: str, password: str
) -> AbstractBaseUser:
    """Make the invited person's account from a sign-up link (`digest`: its token's
    digest, token_digest): once, before it expires."""
    invitation = invitation_for_digest(digest)
    if problem := invitation_problem(invitation):
        raise ValidationError(problem, code="link")
    name = " ".join((display_name or "").split())
    # As the account will keep it: full-width letters read as their plain ones.
    username = User.normalize_username((username or "").strip())
    errors: dict[str, list[str]] = {}
    if is_blank(name):
        errors["display_name"] = ["Say how your colleagues should call you."]
    elif len(name) > NAME_MAX_LENGTH or has_surrogate(name):
        errors["display_name"] = [f"Use at most {NAME_MAX_LENGTH} characters."]
    try:
        User.username_validator(username)
        if not username or len(username) > 150:
            raise ValidationError("Choose a username of 1 to 150 characters.")
    except ValidationError as exc:
        errors["username"] = exc.messages
    else:
        if User.objects.filter(username__iexact=username).exists():
            errors["username"] = ["Someone has this username already; choose another."]
    try:
        candidate = User(username=username, email=invitation.email, first_name=name)
        password_validation.validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # The link works once: whoever marks it used first makes the account.
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=timezone.now()
        ).update(accepted_at=timezone.now())
        if not claimed:
            raise ValidationError(invitation_problem(invitation_for_digest(digest)) or LINK_USED)
        if _account_with(invitation.email) is not None:
            raise ValidationError(
                f"{invitation.email} has an account already, so this link makes none. Sign in "
                "instead, or reset the password from the sign-in page."
            )
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=username, email=invitation.email, password=password
                )
        except IntegrityError as exc:
            raise ValidationError(
                {"username": ["Someone has this username already; choose another."]}
            ) from exc
        Profile.objects.create(user=user, display_name=name)
        Invitation.objects.filter(pk=invitation.pk).update(account=user)
    return user


# ---------------------------------------------------------------------------------------
# Deactivating and reactivating
# ---------------------------------------------------------------------------------------


def sessions_end(person: AbstractBaseUser, *, keep: str | None = None) -> int:
    """End every session this person has, wherever they signed in, but the one keyed `keep`
    (the request's own, when they secure their account from it); how many ended.

    A session names its person only inside its signed data, so each live session is read.
    That is a company's few sessions per person within SESSION_COOKIE_AGE, and it happens
    only when someone is deactivated. Deleting through the session engine removes the
    database row and the cached copy alike (throughline/sessions.py).
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    reader = store()
    mine = str(person.pk)
    ended = 0
    live = (
        store.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .values_list("session_key", "session_data")
    )
    for key, data in live.iterator(chunk_size=500):
        if key != keep and str(reader.decode(data).get(SESSION_KEY)) == mine:
            store(session_key=key).delete()
            ended += 1
    return ended


def person_deactivate(*, person: AbstractBaseUser, by: AbstractBaseUser) -> bool:
    """The person can no longer sign in and every session of theirs ends. False when they
    were deactivated already."""
    if person.pk == by.pk:
        raise ValidationError(
            "You cannot deactivate yourself. Ask another leader or an administrator."
        )
    with transaction.atomic():
        if person.is_superuser:
            # Every active administrator's row, locked: two administrators deactivating each
            # other at once take turns, and the second sees the first one's change.
            admins = set(
                User.objects.select_for_update()
                .filter(is_superuser=True, is_active=True)
                .values_list("pk", flat=True)
            )
            if admins <= {person.pk}:
                raise ValidationError(
                    f"{display_name(person)} is the last active administrator: Throughline "
                    "would have nobody left to administer it. Make someone else an "
                    "administrator first."
                )
        changed = User.objects.filter(pk=person.pk, is_active=True).update(is_active=False)
    person.is_active = False
    sessions_end(person)
    return bool(changed)


def person_reactivate(*, person: AbstractBaseUser, by: AbstractBaseUser) -> bool:
    """The person may sign in again, with their password as it was. False when they were
    active already."""
    changed = User.objects.filter(pk=person.pk, is_active=False).update(is_active=True)
    person.is_active = True
    return bool(changed)


# ---------------------------------------------------------------------------------------
# A person's function and groups
# ---------------------------------------------------------------------------------------


def person_groups(person: AbstractBaseUser) -> list[str]:
    """The groups of GROUPS this person is in, in GROUPS' order."""
    names = set(person.groups.filter(name__in=GROUPS).values_list("name", flat=True))
    return [name for name in GROUPS if name in names]


def roles_version(function: str, groups: Iterable[str]) -> str:
    """A digest of a person's function and groups as a form showed them; it changes
    whenever someone saves others."""
    text = json.dumps([function, sorted(groups)])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def person_roles_version(person: AbstractBaseUser) -> str:
    profile = Profile.objects.filter(user=person).first()
    return roles_version(profile.function if profile else "", person_groups(person))


def function_spelling(name: str) -> str:
    """The function as it is already written, when it is (capacity first, as the review
    compares names exactly), so "product" typed on a profile joins "Product"."""
    name = " ".join(name.split())
    if not name:
        return ""
    wanted = function_name(name)
    for model in (Capacity, Profile):
        for written in model.objects.filter(function__iexact=name).values_list(
            "function", flat=True
        ):
            if function_name(written) == wanted:
                return written
    return name


def person_set_roles(
    *,
    person: AbstractBaseUser,
    function: str,
    groups: Iterable[str],
    version: str,
    by: AbstractBaseUser,
) -> None:
    """Set the function on the person's profile and which of GROUPS they are in, if both
    are still as the editor saw them (`version`, from `person_roles_version`)."""
    wanted = set(groups)
    errors: dict[str, list[str]] = {}
    if unknown := wanted - set(GROUPS):
        errors["groups"] = [f"There is no group called {', '.join(sorted(unknown))}."]
    function = function_spelling(function or "")
    if len(function) > FUNCTION_MAX_LENGTH or has_surrogate(function):
        errors["function"] = [f"Use at most {FUNCTION_MAX_LENGTH} characters."]
    if (
        person.pk == by.pk
        and not by.is_superuser
        and LEADERSHIP not in wanted
        and LEADERSHIP in person_groups(person)
    ):
        errors["groups"] = [
            "You cannot take yourself out of Leadership: you would lose this page. "
            "Ask another leader or an administrator."
        ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # One change of a person's roles at a time.
        User.objects.select_for_update().filter(pk=person.pk).first()
        if version != person_roles_version(person):
            raise ValidationError(
                f"Someone changed {display_name(person)}'s function or groups after you "
                "opened this page. What they are now is shown; make your change again.",
                code=STALE,
            )
        profile = Profile.objects.filter(user=person).first()
        if profile is None:
            Profile.objects.create(
                user=person, display_name=person.get_username(), function=function
            )
        elif profile.function != function:
            profile.function = function
            profile.save(update_fields=["function"])
        have = set(person_groups(person))
        for name in GROUPS:
            if name in wanted and name not in have:
                person.groups.add(Group.objects.get_or_create(name=name)[0])
            elif name in have and name not in wanted:
                person.groups.remove(Group.objects.get(name=name))
