from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.access import LEADERSHIP, OPERATIONS
from planning.planning_file import PlanningFileInvalid, import_document
from planning.planning_file.reader import parse_json

DEMO_FILE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"
DEFAULT_PASSWORD = "throughline-demo"
ADMIN_USERNAME = "admin"
# The demo's three audiences: the VP of Customer Success sits in leadership and the revenue
# operations lead runs the board; everyone else works in squads.
DEMO_ROLES = {LEADERSHIP: ["priya"], OPERATIONS: ["sam"]}


class Command(BaseCommand):
    help = (
        "Load the demo company (the First 90 Days worked example) and give every demo user a "
        "known password. For local use only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", DEFAULT_PASSWORD),
            help="Password for every demo user (default: $DEMO_PASSWORD or %(default)s).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even when DEBUG is off. Demo users have a published password.",
        )

    def handle(self, *args, password: str, allow_production: bool, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "DEBUG is off: demo users with a published password do not belong in production. "
                "Use --allow-production if this really is a demo server."
            )
        document = parse_json(DEMO_FILE.read_text(encoding="utf-8"))
        User = get_user_model()
        with transaction.atomic():
            try:
                report = import_document(document, tell=False)
            except PlanningFileInvalid as exc:
                raise CommandError("\n".join(str(p) for p in exc.problems)) from exc
            usernames = [p["username"] for p in document["people"]]
            for user in User.objects.filter(username__in=usernames):
                user.set_password(password)
                user.save(update_fields=["password"])
            for role, members in DEMO_ROLES.items():
                group, _ = Group.objects.get_or_create(name=role)
                group.user_set.add(*User.objects.filter(username__in=members))
            admin, _ = User.objects.get_or_create(
                username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
            )
            admin.is_staff = admin.is_superuser = True
            admin.set_password(password)
            admin.save()
        self.stdout.write(f"Demo company loaded: {report.summary()}.")
        self.stdout.write(f"Sign in at /admin/ as {ADMIN_USERNAME!r} with password {password!r}.")
        self.stdout.write(
            f"Demo people ({', '.join(usernames)}) share the same password; "
            f"{document['squads'][0]['dri']!r} is the DRI of the First 90 Days squad."
        )
        for role, members in DEMO_ROLES.items():
            self.stdout.write(f"{role}: {', '.join(members)}.")
