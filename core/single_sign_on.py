"""Who a sign-in with the company's OpenID Connect provider is, and the roles it brings.

The first sign-in of a company account links it to a person (`CompanyAccount`): to the one
whose email address it shows, only when the provider says that address is verified (an
unverified address proves nothing: anyone may type a colleague's address into an account
of their own). Without such a person, the sign-in makes one when new people are allowed
(OIDC_CREATE_USERS) or when the address has an open invitation, and is refused otherwise.
Later sign-ins find the person by the link alone.

On every sign-in the provider's groups decide the roles they are mapped to: a person is put
in Leadership or Operations when one of their groups maps to it, and taken out when none
does. Roles without a mapping are left as set in the app.

The reading of the provider's answer (tokens, signatures, claims) is the project's
(throughline/oidc.py); this module only decides, with plain values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.http import base36_to_int

from core.models import CompanyAccount, Invitation, Profile
from core.validators import has_surrogate, is_blank

User = get_user_model()

NAME_MAX_LENGTH = 200
USERNAME_MAX_LENGTH = 150


def configured() -> bool:
    """Whether people sign in with the company's provider (OIDC_ISSUER and OIDC_CLIENT_ID)."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


EMAIL_FROM_COMPANY = (
    "Your company's sign-in links accounts by email address, so your address is set by "
    "your company: ask an administrator to change it."
)


class SignInRefused(Exception):
    """The company sign-in is refused; the message says why, to the person signing in."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CompanyIdentity:
    """What the provider said about the person signing in. `groups` is None when no groups
    claim is configured (roles are then left alone), else the groups it listed (none when
    the claim was missing: providers leave it out when a person is in no group)."""

    issuer: str
    subject: str
    email: str = ""
    email_verified: bool = False
    name: str = ""
    preferred_username: str = ""
    groups: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SignInPolicy:
    create_people: bool = False
    # A role's name (core.access.LEADERSHIP, OPERATIONS) -> the provider's groups that give it.
    role_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)


def no_email() -> str:
    return (
        "Your company account shared no email address with Throughline, so you were not "
        "signed in. Ask an administrator to check the sign-in's scopes (OIDC_SCOPES)."
    )


def not_verified(email: str) -> str:
    return (
        f"Your company account does not say that {email} is verified, so Throughline cannot "
        "tell which person you are and did not sign you in. Verify the address with your "
        "company's sign-in, or ask an administrator."
    )


def no_account(email: str) -> str:
    return (
        f"Throughline has no account for {email}, so you were not signed in. Ask a leader "
        "to invite you, then sign in with your company account again."
    )


def several_accounts(email: str) -> str:
    return (
        f"Several Throughline accounts use {email}, so the sign-in cannot tell which one is "
        "yours. Ask an administrator to give each account its own address."
    )


def linked_elsewhere(email: str) -> str:
    return (
        f"The Throughline account of {email} is linked to another company account already, "
        "so you were not signed in. Ask an administrator to remove the old link (Company "
        "accounts, in the administration) if that account is no longer used."
    )


def deactivated() -> str:
    return (
        "Your Throughline account is deactivated, so you were not signed in. Ask a leader or "
        "an administrator to reactivate it."
    )


def company_sign_in(*, identity: CompanyIdentity, policy: SignInPolicy) -> AbstractBaseUser:
    """The person this company account signs in as, linked or made on its first sign-in,
    with their roles set from its groups. Raises SignInRefused with a sentence for them."""
    if not identity.issuer or not identity.subject:
        raise SignInRefused("The company sign-in did not say who you are. Try again.")
    try:
        with transaction.atomic():
            person = _linked_person(identity, policy)
    except IntegrityError:
        # The same account's first sign-in in another tab linked it a moment ago.
        with transaction.atomic():
            person = _linked_person(identity, policy)
    if not person.is_active:
        raise SignInRefused(deactivated())
    if identity.groups is not None:
        person_roles_sync(person=person, groups=identity.groups, policy=policy)
    return person


def _linked_person(identity: CompanyIdentity, policy: SignInPolicy) -> AbstractBaseUser:
    link = (
        CompanyAccount.objects.select_related("user")
        .filter(issuer=identity.issuer, subject=identity.subject)
        .first()
    )
    if link is not None:
        CompanyAccount.objects.filter(pk=link.pk).update(last_sign_in_at=timezone.now())
        return link.user
    email = User.objects.normalize_email((identity.email or "").strip())
    if not email:
        raise SignInRefused(no_email())
    if identity.email_verified is not True:
        raise SignInRefused(not_verified(email))
    matches = list(User.objects.filter(email__iexact=email)[:2])
    if len(matches) > 1:
        raise SignInRefused(several_accounts(email))
    if matches:
        person = matches[0]
        if not person.is_active:
            raise SignInRefused(deactivated())
        if CompanyAccount.objects.filter(user=person).exists():
            raise SignInRefused(linked_elsewhere(email))
    else:
        invitation = (
            Invitation.objects.select_for_update()
            .filter(email__iexact=email, accepted_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if invitation is None and not policy.create_people:
            raise SignInRefused(no_account(email))
        person = _person_create(identity, email)
        if invitation is not None:
            Invitation.objects.filter(pk=invitation.pk).update(
                accepted_at=timezone.now(), account=person
            )
    CompanyAccount.objects.create(
        user=person,
        issuer=identity.issuer,
        subject=identity.subject,
        email=email,
        last_sign_in_at=timezone.now(),
    )
    return person


def _person_create(identity: CompanyIdentity, email: str) -> AbstractBaseUser:
    """A new person with the profile every page expects, and no password: they sign in
    through the company."""
    person = User.objects.create_user(
        username=_free_username(identity, email), email=email, password=None
    )
    Profile.objects.create(user=person, display_name=_display_name(identity, email))
    return person


def _display_name(identity: CompanyIdentity, email: str) -> str:
    name = " ".join((identity.name or "").split())
    if is_blank(name) or has_surrogate(name):
        name = email.split("@", 1)[0]
    return name[:NAME_MAX_LENGTH]


def _free_username(identity: CompanyIdentity, email: str) -> str:
    """The provider's preferred username, else the address's local part, made valid and
    numbered when someone has it already."""
    for wanted in (identity.preferred_username, email.split("@", 1)[0]):
        base = re.sub(r"[^\w.@+-]", "", User.normalize_username((wanted or "").strip()))
        base = base[: USERNAME_MAX_LENGTH - 4]
        if base and not has_surrogate(base):
            break
    else:
        base = "person"
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}{number}"
    return candidate


def person_roles_sync(
    *, person: AbstractBaseUser, groups: Iterable[str], policy: SignInPolicy
) -> None:
    """Put the person in each mapped role one of their groups gives, and take them out of
    each mapped role none gives."""
    have = {str(group) for group in groups}
    current = set(person.groups.values_list("name", flat=True))
    for role, givers in policy.role_groups.items():
        if not givers:
            continue
        if have & givers and role not in current:
            person.groups.add(Group.objects.get_or_create(name=role)[0])
        elif not have & givers and role in current:
            person.groups.remove(Group.objects.get(name=role))


class SigninLinkTokens(PasswordResetTokenGenerator):
    """One-time sign-in links for administrators (`manage.py signin_link`), for when local
    passwords are off. A token is bound to the account's password and last sign-in, so it
    stops working once used, and works for 15 minutes at most."""

    key_salt = "throughline.signin_link"
    minutes = 15

    def check_token(self, user, token) -> bool:
        try:
            timestamp = base36_to_int(str(token).split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - timestamp > self.minutes * 60:
            return False
        return super().check_token(user, token)


signin_link_tokens = SigninLinkTokens()
