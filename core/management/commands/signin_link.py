"""`manage.py signin_link USERNAME`: a one-time link that signs an administrator in, for when
local passwords are off (LOCAL_PASSWORDS=0) and the company sign-in cannot be used."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.single_sign_on import signin_link_tokens


class Command(BaseCommand):
    help = (
        "Print a link that signs this administrator in once, within 15 minutes "
        "(for when LOCAL_PASSWORDS=0)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        person = User.objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"No account has the username {username!r}.")
        if not person.is_superuser or not person.is_active:
            raise CommandError(
                f"{username} is not an active administrator: only administrators get a "
                "sign-in link (make one with `manage.py createsuperuser`)."
            )
        path = reverse(
            "signin_link",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(person.pk)),
                "token": signin_link_tokens.make_token(person),
            },
        )
        self.stdout.write(settings.THROUGHLINE_URL + path)
