from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import connection, models
from django.db.models import F, Q
from django.db.models.functions import Cast
from simple_history.models import HistoricalRecords

from planning.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator

IMPACT_MIN, IMPACT_MAX = -2, 2


class Profile(models.Model):
    """What the planning file says about a person beyond their user account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    function = models.CharField(max_length=100, blank=True)

    class Meta:
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


class Plan(models.Model):
    """The shared template every squad fills in, the same sections for every squad."""

    squad = models.OneToOneField("squads.Squad", on_delete=models.CASCADE, related_name="plan")
    current_experience = models.TextField(blank=True, help_text="The customer's pain today.")
    desired_experience = models.TextField(
        blank=True, help_text="What the customer experiences tomorrow, by moment."
    )
    success_metrics = models.TextField(blank=True)
    not_doing = models.JSONField(
        default=list, blank=True, help_text="Initiatives the squad says no to, one per entry."
    )
    # Each section is saved on its own, so each has its own version: a save names the version
    # it started from and is refused if someone saved that section since (docs/cowriting.md).
    current_experience_version = models.PositiveIntegerField(default=1)
    desired_experience_version = models.PositiveIntegerField(default=1)
    success_metrics_version = models.PositiveIntegerField(default=1)
    not_doing_version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    # The DRI's approval; a plan without one is a draft. Edits after it keep it approved
    # (the history shows what changed since); the DRI may return it to draft.
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["squad_id"]

    def __str__(self) -> str:
        return f"Plan of {self.squad}"


INITIATIVE_STATUSES = ["proposed", "planned", "in_progress", "done", "dropped"]


class Initiative(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    squad = models.ForeignKey("squads.Squad", on_delete=models.CASCADE, related_name="initiatives")
    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    function = models.CharField(max_length=100, help_text="The function that builds it.")
    stage = models.ForeignKey(
        "journeys.Stage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="initiatives",
    )
    segment = models.ForeignKey(
        "journeys.Segment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="initiatives",
    )
    starts = models.DateField()
    ends = models.DateField()
    headcount = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal(0), help_text="Full-time people."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    impact_team = models.SmallIntegerField(null=True, blank=True)
    impact_business = models.SmallIntegerField(null=True, blank=True)
    impact_customer = models.SmallIntegerField(null=True, blank=True)
    counter_measure = models.TextField(
        blank=True, help_text="What to watch on the other sides when a plan leans to one."
    )
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each save.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["squad_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "key"], name="initiative_key_unique_in_squad"),
            models.CheckConstraint(condition=key_check(), name="initiative_key_shape"),
            models.CheckConstraint(
                condition=Q(starts__lte=F("ends")), name="initiative_starts_before_ends"
            ),
            models.CheckConstraint(
                condition=Q(headcount__gte=0), name="initiative_headcount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status__in=INITIATIVE_STATUSES), name="initiative_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    impact_team__isnull=True,
                    impact_business__isnull=True,
                    impact_customer__isnull=True,
                )
                | Q(
                    impact_team__isnull=False,
                    impact_business__isnull=False,
                    impact_customer__isnull=False,
                    impact_team__gte=IMPACT_MIN,
                    impact_team__lte=IMPACT_MAX,
                    impact_business__gte=IMPACT_MIN,
                    impact_business__lte=IMPACT_MAX,
                    impact_customer__gte=IMPACT_MIN,
                    impact_customer__lte=IMPACT_MAX,
                ),
                name="initiative_impact_complete_and_in_range",
            ),
            models.CheckConstraint(condition=~Q(function=""), name="initiative_has_function"),
        ]
        indexes = [models.Index(fields=["function", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def ref(self) -> str:
        return f"{self.squad.key}/{self.key}"

    @property
    def has_impact(self) -> bool:
        return self.impact_team is not None


# The error of a run whose worker went away in the middle of it (see ReviewRun.lease_expires_at).
REVIEW_ABANDONED_ERROR = "Stopped without finishing: the worker running it went away."


class ReviewRunQuerySet(models.QuerySet):
    def abandoned(self, now: dt.datetime) -> ReviewRunQuerySet:
        """Runs still marked running whose worker stopped renewing their lease."""
        return self.filter(status=ReviewRun.Status.RUNNING, lease_expires_at__lt=now)


class ReviewRun(models.Model):
    """One run of the review over a cycle: when, why, and what it found.

    A running run holds a lease: the process running it renews it every few seconds
    (planning.services.review_run), so one whose lease has expired has lost its worker.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="review_runs")
    trigger = models.CharField(max_length=40, help_text="command, schedule, change or manual")
    today = models.DateField(help_text="The date overdue and soon were judged against.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    findings_open = models.PositiveIntegerField(default=0)
    findings_new = models.PositiveIntegerField(
        default=0, help_text="Findings that opened in this run, new or back again."
    )
    findings_resolved = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While running: the run counts as abandoned once this passes unrenewed.",
    )

    objects = ReviewRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Review of {self.cycle} at {self.started_at:%Y-%m-%d %H:%M}"

    def is_abandoned(self, now: dt.datetime) -> bool:
        """Its worker went away: marked so, or still running with its lease expired."""
        if self.status == self.Status.RUNNING:
            return self.lease_expires_at is not None and self.lease_expires_at < now
        return self.status == self.Status.FAILED and self.error == REVIEW_ABANDONED_ERROR


class FindingQuerySet(models.QuerySet):
    def concerning_squad(self, key: str) -> FindingQuerySet:
        """Findings that list the squad among their subjects."""
        subject = f"squad:{key}"
        if connection.vendor == "postgresql":
            return self.filter(subjects__contains=[subject])
        # JSON containment is PostgreSQL's; elsewhere match the quoted item in the JSON text.
        return self.annotate(subjects_text=Cast("subjects", models.CharField())).filter(
            subjects_text__contains=f'"{subject}"'
        )


class Finding(models.Model):
    """Something the review flagged, kept with its lifecycle across runs."""

    class Kind(models.TextChoices):
        OVERLAP = "overlap", "Overlap"
        BLOCKER = "blocker", "Blocker"
        RESOURCE_CONFLICT = "resource_conflict", "Resource conflict"
        OWNERSHIP_GAP = "ownership_gap", "Ownership gap"

    class Severity(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    rule = models.CharField(max_length=60)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    subjects = models.JSONField(default=list)
    identity = models.CharField(
        max_length=64, help_text="Stable digest of the rule and its subjects; one finding each."
    )
    message = models.TextField()
    score = models.FloatField(null=True, blank=True)
    subjects_state = models.CharField(
        max_length=64,
        blank=True,
        help_text="Digest of the subjects' facts when last reviewed; a dismissal lasts until "
        "it changes.",
    )
    state = models.CharField(max_length=15, choices=State.choices, default=State.OPEN)
    dismissed_reason = models.TextField(blank=True)
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["cycle_id", "kind", "rule", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "identity"], name="finding_once_per_cycle"),
            models.CheckConstraint(
                condition=~Q(state="dismissed") | ~Q(dismissed_reason=""),
                name="finding_dismissal_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["cycle", "state", "severity"])]

    def __str__(self) -> str:
        return self.message

    @property
    def is_live(self) -> bool:
        """Open or acknowledged: the review still sees it and nobody has set it aside."""
        return self.state in (self.State.OPEN, self.State.ACKNOWLEDGED)


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        return self.filter(recipient=user).select_related("finding", "finding__cycle")

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app message to one person: a finding that concerns their squad, or a comment
    that mentions them."""

    class Kind(models.TextChoices):
        FINDING = "finding", "Finding"
        MENTION = "mention", "Mention"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # Database defaults too: the review inserts finding notifications in bulk, in raw SQL.
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.FINDING, db_default=Kind.FINDING
    )
    finding = models.ForeignKey(
        Finding, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    comment = models.ForeignKey(
        "planning.Comment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    url = models.CharField(
        max_length=500, blank=True, default="", db_default="", help_text="Where it points."
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="finding", finding__isnull=False)
                | Q(kind="mention", comment__isnull=False),
                name="notification_points_at_its_subject",
            )
        ]

    def __str__(self) -> str:
        return self.message


class CalendarToken(models.Model):
    """The secret in a person's calendar feed URLs (planning/feeds.py).

    Calendar apps cannot sign in, so the URL itself is the credential: a random
    `secrets.token_urlsafe` value, found by its SHA-256 digest (an index lookup on a hash
    leaks nothing about the secret through timing) and compared again in constant time.
    The secret itself is kept so its owner can copy the feed URL again later; whoever can
    read this table can read everything a feed shows anyway. Resetting replaces it, and the
    old URL answers 404 from then on.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token"
    )
    secret = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the secret.")
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]

    def __str__(self) -> str:
        return f"Calendar feeds of {self.user}"


class StagedImport(models.Model):
    """A checked spreadsheet waiting for its uploader's confirmation (planning/imports.py).

    The preview hands the browser a random token, not the file: the rows stay here, in the
    database every web worker shares, found by the token's SHA-256 digest and only for the
    person who uploaded them. Confirming takes the row out (one use); it also runs out after
    IMPORT_STAGE_MINUTES, and each new upload sweeps out the stale ones.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staged_imports"
    )
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token.")
    filename = models.CharField(max_length=200, blank=True)
    rows = models.JSONField(help_text="The rows of each sheet, as read from the file.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Import of {self.filename} by {self.user}"


class NotificationPreference(models.Model):
    """How a person wants to hear from Throughline by email; the in-app list is always on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    daily_digest = models.BooleanField(
        default=True,
        help_text="Each morning: findings, dependencies due within 7 days, declined or at risk.",
    )
    immediate_high = models.BooleanField(
        default=True, help_text="An email as soon as the review finds something serious."
    )
    last_digest_on = models.DateField(
        null=True, blank=True, help_text="The day the last digest went out: one a day at most."
    )

    class Meta:
        ordering = ["user_id"]

    def __str__(self) -> str:
        return f"Email preferences of {self.user}"

    @classmethod
    def wants(cls, field: str, user_ids) -> set[int]:
        """Which of these people want this email (no row yet: the defaults)."""
        user_ids = set(user_ids)
        refused = set(
            cls.objects.filter(user_id__in=user_ids, **{field: False}).values_list(
                "user_id", flat=True
            )
        )
        return user_ids - refused


# ---------------------------------------------------------------------------------------
# Co-writing a plan (docs/cowriting.md)
# ---------------------------------------------------------------------------------------


class PlanStamp(models.Model):
    """What a poll of a squad's plan compares against, read by primary key in one query.

    `revision` goes up with every saved change to the plan, its initiatives, dependencies,
    key results and comments; `presence_revision` when someone starts or stops editing a
    part. `presence_until` is the earliest moment a presence runs out, so a poll knows
    without another query when it must sweep.
    """

    squad = models.OneToOneField(
        "squads.Squad", on_delete=models.CASCADE, primary_key=True, related_name="plan_stamp"
    )
    revision = models.PositiveBigIntegerField(default=0)
    presence_revision = models.PositiveBigIntegerField(default=0)
    presence_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["squad_id"]

    def __str__(self) -> str:
        return f"Plan of squad {self.squad_id} at revision {self.revision}"


class Presence(models.Model):
    """Someone has a part of a plan open for editing, until `expires_at` unless renewed."""

    squad = models.ForeignKey("squads.Squad", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    part = models.CharField(max_length=120, help_text="The part's id on the plan page.")
    label = models.CharField(max_length=300, help_text="The part's name, as people read it.")
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["squad_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "person"], name="presence_once_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.person} editing {self.label}"


class Comment(models.Model):
    """One comment in the thread of a plan section or of an initiative."""

    squad = models.ForeignKey("squads.Squad", on_delete=models.CASCADE, related_name="comments")
    section = models.CharField(
        max_length=30, blank=True, help_text="The plan section, or blank for an initiative."
    )
    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(initiative__isnull=True) & ~Q(section=""))
                | (Q(initiative__isnull=False) & Q(section="")),
                name="comment_on_a_section_or_an_initiative",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="comment_has_a_body"),
        ]
        indexes = [models.Index(fields=["squad", "section"])]

    def __str__(self) -> str:
        return self.body[:60]


class PageRevision(models.Model):
    """How far a set of pages' data has moved: the key under which their rendering is cached.

    Written only by database triggers (migration 0010, PostgreSQL): every statement that
    inserts, changes or deletes rows a page shows moves the value of that page's scope, in
    the same transaction, whatever wrote it (a form, a bulk update, an import, the admin,
    SQL by hand). Scopes: `board` (dependencies and the initiatives they name),
    `directory` (squads, people's names, journeys, cycles, capacity) and `squad:<id>` (one
    squad's plan, initiatives, key results, comments, members and the dependencies it needs
    or provides). Values come from one sequence, so a value is never used twice, not even
    after a rollback or after the table is emptied. See planning/pagecache.py.
    """

    scope = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        ordering = ["scope"]

    def __str__(self) -> str:
        return f"{self.scope} at {self.value}"
