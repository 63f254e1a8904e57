from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from core.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator
from core.removal import LiveManager, Removable
from core.search import SearchFields, matching
from core.versioning import Versioned

LIVE = Q(removal__isnull=True)


class SquadQuerySet(models.QuerySet):
    def search(self, query) -> SquadQuerySet:
        """The squads whose names match `query`, best first (core.search.matching)."""
        return matching(self.select_related("cycle", "dri__profile"), Squad.SEARCHED, query)


class Squad(Removable):
    """A cross-functional team formed around a customer outcome for one planning cycle.

    Exactly one DRI, who is always a member: `dri` is required, and on PostgreSQL a deferred
    composite foreign key from (id, dri) to the squad's memberships makes the database refuse
    a DRI who is not a member (see migration 0002).

    A removed squad (core/removal.py) keeps its members and the stages it covered, hidden with
    it; its plan, initiatives, key results, comments and the dependencies it needs are removed
    with it (planning/removals.py).
    """

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    cycle = models.ForeignKey("core.Cycle", on_delete=models.PROTECT, related_name="squads")
    dri = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="squads_led",
        verbose_name="DRI",
        help_text="The Directly Responsible Individual; always a member of the squad.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="squads"
    )
    stages = models.ManyToManyField(
        "journeys.Stage", through="SquadStage", related_name="squads", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What the search page reads, by weight (core.search; indexed by squads/migrations/0006).
    SEARCHED = SearchFields(a=("name",))

    objects = LiveManager.from_queryset(SquadQuerySet)()
    everything = models.Manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="squad_key_shape"),
            models.UniqueConstraint(fields=["key"], condition=LIVE, name="squad_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def has_approved_plan(self) -> bool:
        """Whether the DRI has approved this squad's plan (a plan without one is a draft)."""
        return Plan.objects.filter(squad=self, approved_at__isnull=False).exists()

    def is_member(self, user) -> bool:
        return self.memberships.filter(person_id=user.pk).exists()


class Membership(models.Model):
    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    function = models.CharField(max_length=100, help_text="The function this person brings.")

    class Meta:
        ordering = ["squad_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "person"], name="membership_once_per_squad"),
            models.CheckConstraint(condition=~Q(function=""), name="membership_has_function"),
        ]

    def __str__(self) -> str:
        return f"{self.person} in {self.squad} ({self.function})"


class SquadStage(models.Model):
    """A journey stage a squad covers."""

    squad = models.ForeignKey(Squad, on_delete=models.CASCADE)
    stage = models.ForeignKey("journeys.Stage", on_delete=models.CASCADE)

    # Who made a squad cover a stage, and who took it off, and when.
    history = HistoricalRecords()

    class Meta:
        ordering = ["squad_id", "id"]
        constraints = [models.UniqueConstraint(fields=["squad", "stage"], name="squad_stage_once")]

    def __str__(self) -> str:
        return f"{self.squad} covers {self.stage}"


class Goal(Versioned, Removable):
    """A company goal: enduring, external, often unmeasurable, over several years. Each
    squad's objective serves one or more goals (ObjectiveGoal); customer success is part of
    every goal (`customer_success`), not a separate list."""

    VERSIONED = dict.fromkeys(
        ["name", "description", "customer_success", "starts_year", "ends_year", "owner_id"],
        "version",
    )

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    customer_success = models.TextField(
        blank=True, help_text="What customers succeed at when this goal is met."
    )
    starts_year = models.PositiveSmallIntegerField()
    ends_year = models.PositiveSmallIntegerField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_goals",
    )
    position = models.PositiveIntegerField(default=0)
    # The segments whose success outcome the goal is about (optional).
    segments = models.ManyToManyField("journeys.Segment", blank=True, related_name="goals")
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each save.")

    objects = LiveManager()
    everything = models.Manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "starts_year", "id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="goal_key_shape"),
            models.UniqueConstraint(fields=["key"], condition=LIVE, name="goal_key_unique"),
            models.CheckConstraint(
                condition=Q(ends_year__gte=F("starts_year")), name="goal_ends_after_it_starts"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ObjectiveGoal(models.Model):
    """A squad's objective serves a company goal."""

    okr = models.ForeignKey("OKR", on_delete=models.CASCADE, related_name="goal_links")
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="objective_links")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["okr", "goal"], name="objective_goal_once")]

    def __str__(self) -> str:
        return f"{self.okr} serves {self.goal}"


class OKR(models.Model):
    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="okrs")
    cycle = models.ForeignKey("core.Cycle", on_delete=models.CASCADE, related_name="okrs")
    objective = models.TextField(help_text="Qualitative and customer-facing.")
    goals = models.ManyToManyField(
        Goal, through=ObjectiveGoal, blank=True, related_name="objectives"
    )

    class Meta:
        verbose_name = "OKR"
        verbose_name_plural = "OKRs"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "cycle"], name="one_okr_per_squad_per_cycle")
        ]

    def __str__(self) -> str:
        return self.objective


class KeyResultQuerySet(models.QuerySet):
    def search(self, query) -> KeyResultQuerySet:
        """The key results whose names match `query`, best first (core.search.matching)."""
        return matching(self.select_related("okr__squad"), KeyResult.SEARCHED, query)


class KeyResult(Versioned, Removable):
    VERSIONED = dict.fromkeys(["name", "unit", "baseline", "target", "direction"], "version")
    SEARCHED = SearchFields(a=("name",))

    class Direction(models.TextChoices):
        INCREASE = "increase", "Increase"
        DECREASE = "decrease", "Decrease"

    okr = models.ForeignKey(OKR, on_delete=models.CASCADE, related_name="key_results")
    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=40, blank=True)
    baseline = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    target = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    current = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INCREASE
    )
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each save.")

    objects = LiveManager.from_queryset(KeyResultQuerySet)()
    everything = models.Manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["okr_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["okr", "key"], condition=LIVE, name="key_result_key_unique_in_okr"
            ),
            models.CheckConstraint(condition=key_check(), name="key_result_key_shape"),
            models.CheckConstraint(
                condition=Q(direction__in=["increase", "decrease"]),
                name="key_result_direction_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_measurable(self) -> bool:
        return self.baseline is not None and self.target is not None

    def progress(self) -> float | None:
        """Share of the way from baseline to target, 0 to 1, or None when not measurable."""
        if not self.is_measurable or self.current is None or self.target == self.baseline:
            return None
        share = (self.current - self.baseline) / (self.target - self.baseline)
        return float(min(max(share, 0), 1))


class CheckIn(models.Model):
    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="check_ins")
    value = models.DecimalField(max_digits=18, decimal_places=4)
    confidence = models.PositiveSmallIntegerField(
        help_text="How confident the squad is of reaching the target, 1 (not at all) to 10."
    )
    note = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="check_ins"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key_result_id", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=1, confidence__lte=10),
                name="check_in_confidence_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key_result}: {self.value}"


IMPACT_MIN, IMPACT_MAX = -2, 2


class Plan(Versioned):
    """The shared template every squad fills in, the same sections for every squad."""

    # What an editor shows, and the version each part moves (core.versioning.Versioned).
    VERSIONED = {
        "current_experience": "current_experience_version",
        "desired_experience": "desired_experience_version",
        "success_metrics": "success_metrics_version",
        "not_doing": "not_doing_version",
    }

    squad = models.OneToOneField(Squad, on_delete=models.CASCADE, related_name="plan")
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

    history = HistoricalRecords(table_name="planning_historicalplan")

    class Meta:
        db_table = "planning_plan"
        ordering = ["squad_id"]

    def __str__(self) -> str:
        return f"Plan of {self.squad}"


INITIATIVE_STATUSES = ["proposed", "planned", "in_progress", "done", "dropped"]


class InitiativeQuerySet(models.QuerySet):
    def search(self, query) -> InitiativeQuerySet:
        """The initiatives matching `query`, best first (core.search.matching). Whose plans
        the person may read is core.access.readable_initiatives'."""
        return matching(self.select_related("squad__cycle"), Initiative.SEARCHED, query)


class Initiative(Versioned, Removable):
    VERSIONED = dict.fromkeys(
        [
            "title",
            "description",
            "function",
            "stage_id",
            "segment_id",
            "starts",
            "ends",
            "headcount",
            "status",
            "impact_team",
            "impact_business",
            "impact_customer",
            "counter_measure",
        ],
        "version",
    )
    SEARCHED = SearchFields(a=("title",), b=("description",), c=("counter_measure",))

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
    milestones = models.ManyToManyField(
        "journeys.Milestone",
        through="InitiativeMilestone",
        blank=True,
        related_name="initiatives",
    )
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each save.")
    # Its place among its function's initiatives on the plan, as the squad arranged them;
    # none until the squad first does, and new ones come after the arranged ones.
    position = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LiveManager.from_queryset(InitiativeQuerySet)()
    everything = models.Manager()
    history = HistoricalRecords(table_name="planning_historicalinitiative")

    class Meta:
        db_table = "planning_initiative"
        ordering = ["squad_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["squad", "key"], condition=LIVE, name="initiative_key_unique_in_squad"
            ),
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
        db_table = "planning_planstamp"
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
        db_table = "planning_presence"
        ordering = ["squad_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "person"], name="presence_once_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.person} editing {self.label}"


class CommentQuerySet(models.QuerySet):
    def search(self, query) -> CommentQuerySet:
        """The comments matching `query`, best first (core.search.matching). Whose plans the
        person may read is core.access.readable_plan_parts'."""
        related = self.select_related("squad", "initiative", "author__profile")
        return matching(related, Comment.SEARCHED, query)


class Comment(Versioned, Removable):
    """One comment in the thread of a plan section or of an initiative.

    Its author may edit it (the history keeps each text it had) or remove it; the squad's
    members resolve its thread, which marks every comment the thread holds then: a comment
    added later opens the thread again (squads.cowriting)."""

    SEARCHED = SearchFields(c=("body",))
    VERSIONED = {"body": "version"}

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
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each edit.")
    edited_at = models.DateTimeField(
        null=True, blank=True, help_text="When its author last changed it; empty if never."
    )
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When its thread was resolved; empty while open."
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who resolved its thread.",
    )

    objects = LiveManager.from_queryset(CommentQuerySet)()
    everything = models.Manager()
    # Each text it had: its author's edits are kept, reachable from the thread.
    history = HistoricalRecords(excluded_fields=["resolved_at", "resolved_by"])

    class Meta:
        db_table = "planning_comment"
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


class InitiativeMilestone(models.Model):
    """An initiative serves a milestone of a segment's time-to-value map."""

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="milestone_links"
    )
    milestone = models.ForeignKey(
        "journeys.Milestone", on_delete=models.CASCADE, related_name="initiative_links"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "milestone"], name="initiative_milestone_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.initiative} serves {self.milestone}"
