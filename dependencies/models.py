from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from planning.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator

_ONE_NEEDER = Q(from_squad__isnull=False, from_initiative__isnull=True) | Q(
    from_squad__isnull=True, from_initiative__isnull=False
)
_ONE_PROVIDER = (
    Q(to_squad__isnull=False, to_initiative__isnull=True, to_function="")
    | Q(to_squad__isnull=True, to_initiative__isnull=False, to_function="")
    | (Q(to_squad__isnull=True, to_initiative__isnull=True) & ~Q(to_function=""))
)


DEPENDENCY_STATUSES = ["requested", "accepted", "at_risk", "done", "declined"]


class Dependency(models.Model):
    """Who needs what from whom, by when.

    The side that needs it is a squad or one of its initiatives; the provider is exactly one
    of a squad, an initiative or a function (a department that is not a squad).
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted"
        AT_RISK = "at_risk", "At risk"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, unique=True, validators=[key_validator], help_text=KEY_HELP
    )
    from_squad = models.ForeignKey(
        "squads.Squad", on_delete=models.CASCADE, null=True, blank=True, related_name="needs"
    )
    from_initiative = models.ForeignKey(
        "planning.Initiative",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="needs",
    )
    to_squad = models.ForeignKey(
        "squads.Squad", on_delete=models.PROTECT, null=True, blank=True, related_name="provides"
    )
    to_initiative = models.ForeignKey(
        "planning.Initiative",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provides",
    )
    to_function = models.CharField(max_length=100, blank=True)
    what = models.TextField()
    due = models.DateField()
    blocking = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependencies_owned",
        help_text="Who answers for it on the provider side.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "dependencies"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="dependency_key_shape"),
            models.CheckConstraint(condition=_ONE_NEEDER, name="dependency_exactly_one_needer"),
            models.CheckConstraint(condition=_ONE_PROVIDER, name="dependency_exactly_one_provider"),
            models.CheckConstraint(
                condition=Q(status__in=DEPENDENCY_STATUSES), name="dependency_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due"]),
            models.Index(fields=["due"]),
        ]

    def __str__(self) -> str:
        return self.what

    def is_open(self) -> bool:
        return self.status not in (self.Status.DONE, self.Status.DECLINED)

    def is_overdue(self, today: dt.date) -> bool:
        return self.is_open() and self.due < today
