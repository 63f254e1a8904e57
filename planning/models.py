from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Cast

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

    cycle = models.ForeignKey("core.Cycle", on_delete=models.CASCADE, related_name="review_runs")
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


# The findings list's order, most severe first (planning.views.findings); the index on live
# findings below is built on this very expression, so the list reads its page from it.
SEVERITY_RANK = Case(
    When(severity="high", then=Value(0)),
    When(severity="medium", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
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

    cycle = models.ForeignKey("core.Cycle", on_delete=models.CASCADE, related_name="findings")
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
    measure = models.FloatField(
        null=True,
        blank=True,
        help_text="How bad it is, in the rule's own unit (people over capacity, days between "
        "dates); larger is worse.",
    )
    facts = models.JSONField(
        null=True,
        blank=True,
        help_text="What makes it bad beyond its rule (past_due, at_risk, ...).",
    )
    state = models.CharField(max_length=15, choices=State.choices, default=State.OPEN)
    dismissed_reason = models.TextField(blank=True)
    # What it was when last acknowledged: the review re-opens it if it gets worse than this.
    # Database defaults on the text columns: the review inserts findings in raw SQL.
    acknowledged_severity = models.CharField(max_length=10, blank=True, db_default="")
    acknowledged_message = models.TextField(blank=True, db_default="")
    acknowledged_score = models.FloatField(null=True, blank=True)
    acknowledged_measure = models.FloatField(null=True, blank=True)
    acknowledged_facts = models.JSONField(null=True, blank=True)
    reopened_note = models.TextField(
        blank=True,
        db_default="",
        help_text="Why the review re-opened it after it was acknowledged: what got worse.",
    )
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
        indexes = [
            # The list's counts by severity, filtered by kind or not, from the index alone.
            models.Index(fields=["cycle", "state", "severity", "kind"], name="finding_counts"),
            # The findings list's default view (live findings, most severe first, by kind,
            # latest seen first): its page of 50 is the first 50 entries of this index, not
            # a sort of every live finding of the cycle.
            models.Index(
                F("cycle_id"),
                SEVERITY_RANK,
                F("kind"),
                F("last_seen").desc(),
                F("id"),
                name="finding_live_order",
                condition=Q(state__in=["open", "acknowledged"]),
            ),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_live(self) -> bool:
        """Open or acknowledged: the review still sees it and nobody has set it aside."""
        return self.state in (self.State.OPEN, self.State.ACKNOWLEDGED)


# The rules whose findings name one dependency that its answer or a new date can settle.
DEPENDENCY_RULES = ("overdue", "declined", "unaccepted", "late_provider", "needed_before_due")


class FindingEventQuerySet(models.QuerySet):
    def acted(self) -> FindingEventQuerySet:
        """What people did from the finding itself (not the review, not plain triage)."""
        return self.filter(action__in=FindingEvent.ACTED)


class FindingEvent(models.Model):
    """One line of a finding's timeline: who did what to it, and when.

    `by` is empty when the review itself did it (no longer found, found again). `summary`
    says in words what was done, as the timeline and the findings page show it.
    """

    class Action(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"
        REOPENED = "reopened", "Reopened"
        GONE = "gone", "No longer found by the review"
        BACK = "back", "Found again by the review"
        WORSE = "worse", "Opened again by the review: it got worse"
        LEAD = "lead", "One squad leads"
        NOT_SAME = "not_same", "Not the same work"
        RELATED = "related", "Related, both kept"
        STAGE_COVERED = "stage_covered", "Squad assigned to the stage"
        DEPENDENCY_ACCEPTED = "dependency_accepted", "Dependency accepted"
        DEPENDENCY_DECLINED = "dependency_declined", "Dependency declined"
        DEPENDENCY_AT_RISK = "dependency_at_risk", "Dependency marked at risk"
        DEPENDENCY_MOVED = "dependency_moved", "Due date moved"

    # The actions taken from the finding that act on the plan (or judge the overlap).
    ACTED = (
        Action.LEAD,
        Action.NOT_SAME,
        Action.RELATED,
        Action.STAGE_COVERED,
        Action.DEPENDENCY_ACCEPTED,
        Action.DEPENDENCY_DECLINED,
        Action.DEPENDENCY_AT_RISK,
        Action.DEPENDENCY_MOVED,
    )

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=30, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who did it; empty when the review did.",
    )
    at = models.DateTimeField()
    summary = models.TextField(blank=True, help_text="What was done, in words.")

    objects = FindingEventQuerySet.as_manager()

    class Meta:
        ordering = ["finding_id", "at", "id"]
        indexes = [models.Index(fields=["finding", "at"])]

    def __str__(self) -> str:
        return self.summary or self.get_action_display()


class OverlapVerdict(models.Model):
    """What someone decided about two initiatives of different squads that an overlap
    finding grouped, with their texts as they were when judged.

    The review leaves the pair out of its overlap findings while neither text has changed
    materially since (planning/overlap_verdicts.py); the verdicts are also the labelled
    pairs `export_overlap_labels` writes. `first` is the initiative with the lower id, so a
    pair has one row; a later verdict on the pair replaces it.
    """

    class Verdict(models.TextChoices):
        SAME = "same", "The same work: one squad leads"
        NOT_SAME = "not_same", "Not the same work"
        RELATED = "related", "Related work, both kept"

    cycle = models.ForeignKey("core.Cycle", on_delete=models.CASCADE, related_name="+")
    first = models.ForeignKey("squads.Initiative", on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey("squads.Initiative", on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    first_title = models.CharField(max_length=300)
    first_description = models.TextField(blank=True)
    second_title = models.CharField(max_length=300)
    second_description = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    finding = models.ForeignKey(
        Finding, on_delete=models.SET_NULL, null=True, blank=True, related_name="verdicts"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["cycle_id", "first_id", "second_id"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="overlap_verdict_once"),
            models.CheckConstraint(
                condition=Q(first__lt=models.F("second")), name="overlap_verdict_pair_ordered"
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=["same", "not_same", "related"]),
                name="overlap_verdict_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_title} / {self.second_title}: {self.get_verdict_display()}"


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        """A person's notifications, but not those about a comment or a dependency someone
        removed (core/removal.py): what they point at is gone from every page."""
        return self.filter(
            recipient=user, comment__removal__isnull=True, dependency__removal__isnull=True
        ).select_related("finding", "finding__cycle")

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app message to one person: a finding that concerns their squad, a comment that
    mentions them, or a dependency their squad needs that its provider declined or put at
    risk."""

    class Kind(models.TextChoices):
        FINDING = "finding", "Finding"
        MENTION = "mention", "Mention"
        DEPENDENCY = "dependency", "Dependency"

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
        "squads.Comment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    dependency = models.ForeignKey(
        "dependencies.Dependency",
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
                | Q(kind="mention", comment__isnull=False)
                | Q(kind="dependency", dependency__isnull=False),
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
        default=True,
        help_text="An email at once when the review finds something serious about a squad "
        "they lead, or a dependency their squad needs is declined or put at risk.",
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
# The planning season (docs/season.md): a cycle's moves and the baseline kept at commit
# ---------------------------------------------------------------------------------------


class CycleEvent(models.Model):
    """One line of a cycle's history: it was opened, moved from one state to another, or
    opened by carrying work forward from another cycle; who did it, when and why."""

    class Action(models.TextChoices):
        OPENED = "opened", "Opened"
        MOVED = "moved", "Moved"
        CARRIED = "carried", "Opened with work carried forward"

    cycle = models.ForeignKey("core.Cycle", on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.TextField(blank=True)
    # Committed while the readiness check still listed this many things, with `reason`.
    overridden = models.PositiveIntegerField(default=0)
    # The cycle whose unfinished work this one was opened with, and what was carried.
    source = models.ForeignKey(
        "core.Cycle", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["cycle_id", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["opened", "moved", "carried"]),
                name="cycle_event_action_valid",
            ),
            models.CheckConstraint(
                condition=Q(overridden=0) | ~Q(reason=""),
                name="cycle_event_override_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle}: {self.get_action_display()} {self.from_state} → {self.to_state}"

    @property
    def from_label(self) -> str:
        return _state_label(self.from_state)

    @property
    def to_label(self) -> str:
        return _state_label(self.to_state)


def _state_label(state: str) -> str:
    from core.models import Cycle

    return Cycle.State(state).label.lower() if state in Cycle.State.values else state


class CycleBaseline(models.Model):
    """What a cycle's plan was when leadership committed to it: a copy of every initiative
    and dependency, against which drift since commit is measured. A cycle committed again
    (after going back to reconciling) keeps each baseline; the latest one counts."""

    cycle = models.ForeignKey("core.Cycle", on_delete=models.CASCADE, related_name="baselines")
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["cycle_id", "taken_at", "id"]

    def __str__(self) -> str:
        return f"Baseline of {self.cycle} at {self.taken_at:%Y-%m-%d %H:%M}"


class BaselineInitiative(models.Model):
    """An initiative as it stood at commit, named by its squad's key and its own."""

    baseline = models.ForeignKey(
        CycleBaseline, on_delete=models.CASCADE, related_name="initiatives"
    )
    squad_key = models.CharField(max_length=80)
    squad_name = models.CharField(max_length=200)
    key = models.CharField(max_length=80)
    title = models.CharField(max_length=300)
    function = models.CharField(max_length=100)
    starts = models.DateField()
    ends = models.DateField()
    status = models.CharField(max_length=12)
    headcount = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["baseline_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["baseline", "squad_key", "key"], name="baseline_initiative_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ref} at commit"

    @property
    def ref(self) -> str:
        return f"{self.squad_key}/{self.key}"


class BaselineDependency(models.Model):
    """A dependency as it stood at commit: who needed what from whom, by when."""

    baseline = models.ForeignKey(
        CycleBaseline, on_delete=models.CASCADE, related_name="dependencies"
    )
    key = models.CharField(max_length=80)
    what = models.TextField()
    needer = models.CharField(max_length=80, help_text="The needing squad's key.")
    from_ref = models.CharField(max_length=170, help_text="The needing squad, or squad/initiative.")
    to_ref = models.CharField(
        max_length=170, blank=True, help_text="The providing squad or squad/initiative."
    )
    to_function = models.CharField(max_length=100, blank=True)
    due = models.DateField()
    status = models.CharField(max_length=10)
    blocking = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "baseline dependencies"
        ordering = ["baseline_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["baseline", "key"], name="baseline_dependency_once")
        ]

    def __str__(self) -> str:
        return f"{self.key} at commit"
