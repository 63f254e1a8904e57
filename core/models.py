from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator


class Profile(models.Model):
    """What the planning file says about a person beyond their user account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    function = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "planning_profile"
        ordering = ["user_id"]

    def __str__(self) -> str:
        return self.display_name


class Cycle(models.Model):
    """A planning cycle: a year, a quarter or a sprint. Squads, OKRs and plans belong to one."""

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, unique=True, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    starts = models.DateField()
    ends = models.DateField()
    restrict_drafts = models.BooleanField(
        default=False,
        help_text=(
            "A plan its DRI has not approved is read only by its squad's members, "
            "leadership and operations."
        ),
    )

    class Meta:
        db_table = "planning_cycle"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="cycle_key_shape"),
            models.CheckConstraint(
                condition=Q(starts__lte=F("ends")), name="cycle_starts_before_ends"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_open(self, today: dt.date) -> bool:
        return today <= self.ends


class Capacity(models.Model):
    """How many full-time people a function can staff in a cycle."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="capacities")
    function = models.CharField(max_length=100)
    headcount = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        db_table = "planning_capacity"
        verbose_name_plural = "capacities"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "function"], name="capacity_once_per_function"
            ),
            models.CheckConstraint(condition=Q(headcount__gte=0), name="capacity_not_negative"),
            models.CheckConstraint(condition=~Q(function=""), name="capacity_has_function"),
        ]

    def __str__(self) -> str:
        return f"{self.function} in {self.cycle}: {self.headcount}"


class PageRevision(models.Model):
    """How far a set of pages' data has moved: the key under which their rendering is cached.

    Written only by database triggers (migration 0010, PostgreSQL): every statement that
    inserts, changes or deletes rows a page shows moves the value of that page's scope, in
    the same transaction, whatever wrote it (a form, a bulk update, an import, the admin,
    SQL by hand). Scopes: `board` (dependencies and the initiatives they name),
    `directory` (squads, people's names, journeys, cycles, capacity) and `squad:<id>` (one
    squad's plan, initiatives, key results, comments, members and the dependencies it needs
    or provides). Values come from one sequence, so a value is never used twice, not even
    after a rollback or after the table is emptied. See core/pagecache.py.
    """

    scope = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        db_table = "planning_pagerevision"
        ordering = ["scope"]

    def __str__(self) -> str:
        return f"{self.scope} at {self.value}"


class Removal(models.Model):
    """One removal a person made: what they removed, what it took with it, and how to put
    everything back (core/removal.py, planning/removals.py).

    The removed row, and the rows removed with it (a squad's initiatives, a journey's stages),
    point here through their `removal` column; the default managers leave them out, so they
    disappear from every page, export and review at once. Restoring clears those columns and
    undoes what `details` records; after REMOVAL_KEEP_DAYS the rows may be deleted for good
    (`purged_at`). The row itself stays as the record of who removed what, and who restored it.
    """

    class Kind(models.TextChoices):
        JOURNEY = "journey", "Journey"
        STAGE = "stage", "Stage"
        SQUAD = "squad", "Squad"
        INITIATIVE = "initiative", "Initiative"
        KEY_RESULT = "key_result", "Key result"
        DEPENDENCY = "dependency", "Dependency"
        COMMENT = "comment", "Comment"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    target_id = models.BigIntegerField(help_text="The primary key of the row removed.")
    label = models.CharField(max_length=300, help_text="What was removed, as people read it.")
    # Who may restore it is decided from these (core.access.can_restore): the squad it
    # belonged to (a plain id: this layer sits below the squads app) and a comment's author.
    squad_pk = models.BigIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A comment's author.",
    )
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField()
    # What the removal changed besides marking rows, so restoring can undo exactly that, and
    # what it took with it, in words (planning/removals.py).
    details = models.JSONField(default=dict, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-removed_at", "-id"]
        indexes = [models.Index(fields=["removed_at"], name="removal_removed_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "journey",
                        "stage",
                        "squad",
                        "initiative",
                        "key_result",
                        "dependency",
                        "comment",
                    ]
                ),
                name="removal_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(restored_at__isnull=True) | Q(purged_at__isnull=True),
                name="removal_restored_or_purged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}"

    @property
    def is_waiting(self) -> bool:
        """Still removed, and still restorable."""
        return self.restored_at is None and self.purged_at is None
