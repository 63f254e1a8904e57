from __future__ import annotations

import re

from django.db import models
from django.db.models import Count, F, Prefetch, Q, Value
from simple_history.models import HistoricalRecords

from core.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator
from core.removal import LiveManager, Removable
from core.search import SearchFields, matching
from core.versioning import Versioned

LIVE = Q(removal__isnull=True)

EMOTION_MIN, EMOTION_MAX = -2, 2
EMOTION_CHOICES = [
    (-2, "Very unhappy"),
    (-1, "Unhappy"),
    (0, "Neutral"),
    (1, "Happy"),
    (2, "Delighted"),
]

# How much value a customer has realised, on a small ordered scale (a stage's or a moment's
# value today and the value it should reach tomorrow; None: not recorded).
VALUE_MIN, VALUE_MAX = 0, 4
VALUE_CHOICES = [
    (0, "None"),
    (1, "Promised"),
    (2, "First value"),
    (3, "Repeat value"),
    (4, "Expanding"),
]

_OFFSET_RE = re.compile(r"^\s*(hour|day|week|month|quarter|year)s?\s+(\d{1,4})\s*$", re.IGNORECASE)
_UNIT_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}


def same_when(a: str, b: str) -> bool:
    """Two moments' "when" name the same point: "Day 1" and "day  1" do."""
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def parse_offset(when: str) -> float | None:
    """Days from the start of a stage for "Day 1", "Week 2", "Month 3"; None if unreadable."""
    match = _OFFSET_RE.match(when or "")
    if not match:
        return None
    unit, number = match.group(1).lower(), int(match.group(2))
    return number * _UNIT_DAYS[unit]


class Segment(models.Model):
    key = models.CharField(
        max_length=KEY_MAX_LENGTH, unique=True, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    # The segment's success outcome: "<threshold><unit> <metric> within <days> days", e.g.
    # "80% of seats active within 60 days". All blank: not defined yet.
    success_metric = models.CharField(
        max_length=200, blank=True, help_text='What is measured, e.g. "of seats active".'
    )
    success_threshold = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="e.g. 80"
    )
    success_unit = models.CharField(max_length=20, blank=True, help_text='e.g. "%"')
    success_within_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days from the customer's start."
    )
    success_owner = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_segment_outcomes",
    )
    # A CSV address the milestone readings are pulled from on a schedule (optional).
    milestone_feed_url = models.URLField(max_length=500, blank=True)
    # How the last scheduled pull of that address went (journeys.milestone_feed).
    milestone_feed_pulled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the feed was last pulled, or tried."
    )
    milestone_feed_rows = models.PositiveIntegerField(
        null=True, blank=True, help_text="Readings the last successful pull imported."
    )
    milestone_feed_error = models.TextField(
        blank=True, help_text="Why the last pull failed; blank if not."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="segment_key_shape"),
            models.CheckConstraint(
                condition=Q(success_threshold__isnull=True) | Q(success_threshold__gte=0),
                name="segment_success_threshold_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def _segments_by_priority() -> Prefetch:
    return Prefetch(
        "segments",
        queryset=Segment.objects.select_related("success_owner__profile").order_by(
            F("priority").asc(nulls_last=True), "name", "id"
        ),
    )


def _covering_squads(cycle) -> Prefetch:
    """The squads of `cycle` that cover a stage, as `stage.cycle_squads`."""
    # The squads app sits above this one: its model is reached through the relation it
    # declares on stages ("squads").
    squad = Stage._meta.get_field("squads").related_model
    squads = squad.objects.filter(cycle=cycle) if cycle is not None else squad.objects.none()
    return Prefetch(
        "squads",
        queryset=squads.select_related("dri__profile").order_by("name", "id"),
        to_attr="cycle_squads",
    )


class JourneyQuerySet(models.QuerySet):
    def for_list(self, cycle) -> JourneyQuerySet:
        """Journeys with their segments and stages, each stage counting its squads in `cycle`."""
        if cycle is None:
            squad_count = Value(0)
        else:
            squad_count = Count(
                "squads",
                filter=Q(squads__cycle=cycle, squads__removal__isnull=True),
                distinct=True,
            )
        stages = Stage.objects.annotate(squad_count=squad_count)
        return self.prefetch_related(
            _segments_by_priority(), Prefetch("stages", queryset=stages, to_attr="stage_list")
        ).order_by("name", "id")

    def for_map(self, cycle) -> JourneyQuerySet:
        """Everything the journey map shows: segments, stages, moments, covering squads."""
        return self.prefetch_related(
            _segments_by_priority(),
            Prefetch("stages", queryset=Stage.objects.for_map(cycle), to_attr="stage_list"),
        )


class StageQuerySet(models.QuerySet):
    def for_map(self, cycle) -> StageQuerySet:
        touchpoints = Touchpoint.objects.select_related("squad", "segment")
        return self.select_related("journey").prefetch_related(
            "moments",
            Prefetch("moments__touchpoints", queryset=touchpoints),
            _covering_squads(cycle),
        )

    def search(self, query) -> StageQuerySet:
        """The stages matching `query`, best first (core.search.matching)."""
        return matching(self.select_related("journey"), Stage.SEARCHED, query)


class Journey(Removable):
    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    segments = models.ManyToManyField(Segment, through="JourneySegment", related_name="journeys")

    # The journeys nobody removed; `everything` also those removed (core/removal.py).
    objects = LiveManager.from_queryset(JourneyQuerySet)()
    everything = models.Manager.from_queryset(JourneyQuerySet)()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="journey_key_shape"),
            models.UniqueConstraint(fields=["key"], condition=LIVE, name="journey_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class JourneySegment(models.Model):
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "segment"], name="journey_segment_once")
        ]

    def __str__(self) -> str:
        return f"{self.segment} in {self.journey}"


class Stage(Versioned, Removable):
    VERSIONED = dict.fromkeys(
        [
            "name",
            "customer_goal",
            "today",
            "tomorrow",
            "emotion_today",
            "emotion_target",
            "value_today",
            "value_target",
            "expansion",
        ],
        "version",
    )
    # What the search page reads, by weight (core.search; indexed by journeys/migrations/0003).
    SEARCHED = SearchFields(a=("name",), b=("customer_goal", "today", "tomorrow"))

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    customer_goal = models.TextField(help_text="What the customer is trying to achieve here.")
    today = models.TextField(help_text="Where the experience is broken today.")
    tomorrow = models.TextField(help_text="What it should look like tomorrow.")
    emotion_today = models.SmallIntegerField(choices=EMOTION_CHOICES)
    emotion_target = models.SmallIntegerField(choices=EMOTION_CHOICES)
    value_today = models.SmallIntegerField(choices=VALUE_CHOICES, null=True, blank=True)
    value_target = models.SmallIntegerField(choices=VALUE_CHOICES, null=True, blank=True)
    # Expansion conversations belong here (upsell, more seats, renewal with growth).
    expansion = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each save.")

    objects = LiveManager.from_queryset(StageQuerySet)()
    everything = models.Manager.from_queryset(StageQuerySet)()
    history = HistoricalRecords()

    class Meta:
        ordering = ["journey_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "key"], condition=LIVE, name="stage_key_unique_in_journey"
            ),
            models.CheckConstraint(condition=key_check(), name="stage_key_shape"),
            models.CheckConstraint(
                condition=Q(emotion_today__gte=EMOTION_MIN, emotion_today__lte=EMOTION_MAX),
                name="stage_emotion_today_range",
            ),
            models.CheckConstraint(
                condition=Q(emotion_target__gte=EMOTION_MIN, emotion_target__lte=EMOTION_MAX),
                name="stage_emotion_target_range",
            ),
            models.CheckConstraint(
                condition=Q(value_today__isnull=True)
                | Q(value_today__gte=VALUE_MIN, value_today__lte=VALUE_MAX),
                name="stage_value_today_range",
            ),
            models.CheckConstraint(
                condition=Q(value_target__isnull=True)
                | Q(value_target__gte=VALUE_MIN, value_target__lte=VALUE_MAX),
                name="stage_value_target_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.journey.name}: {self.name}"

    @property
    def ref(self) -> str:
        return f"{self.journey.key}/{self.key}"


def moment_key(when: str, taken: set[str]) -> str:
    """A key for a moment from its "when" ("Week 2" -> "week-2"), not one of `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", (when or "").lower()).strip("-")[: KEY_MAX_LENGTH - 4]
    if not base or not base[0].isalpha():
        base = f"m-{base}".strip("-")
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


class Moment(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="moments")
    # Unique in its stage; a reference to a moment is "journey/stage/moment". Made from "when"
    # (moment_key) when none is given.
    key = models.CharField(max_length=KEY_MAX_LENGTH, blank=True)
    position = models.PositiveIntegerField(default=0)
    when = models.CharField(max_length=40, help_text='A time offset such as "Day 1" or "Week 2".')
    offset_days = models.FloatField(help_text="The offset in days, for ordering moments in time.")
    today = models.TextField(blank=True)
    tomorrow = models.TextField()
    value_today = models.SmallIntegerField(choices=VALUE_CHOICES, null=True, blank=True)
    value_target = models.SmallIntegerField(choices=VALUE_CHOICES, null=True, blank=True)

    class Meta:
        ordering = ["stage_id", "offset_days", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "key"], condition=~Q(key=""), name="moment_key_unique_in_stage"
            ),
            models.CheckConstraint(
                condition=Q(value_today__isnull=True)
                | Q(value_today__gte=VALUE_MIN, value_today__lte=VALUE_MAX),
                name="moment_value_today_range",
            ),
            models.CheckConstraint(
                condition=Q(value_target__isnull=True)
                | Q(value_target__gte=VALUE_MIN, value_target__lte=VALUE_MAX),
                name="moment_value_target_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.when}: {self.tomorrow[:40]}"

    def save(self, *args, **kwargs):
        offset = parse_offset(self.when)
        if offset is not None:
            self.offset_days = offset
        elif self.offset_days is None and self.stage_id is not None:
            # A moment named by what happens ("First login") rather than by a time keeps its
            # place after the moments before it.
            earlier = Moment.objects.filter(stage_id=self.stage_id).exclude(pk=self.pk)
            if self.position is not None:
                earlier = earlier.filter(position__lte=self.position)
            self.offset_days = earlier.aggregate(last=models.Max("offset_days"))["last"] or 0
        if not self.key and self.stage_id is not None:
            taken = set(
                Moment.objects.filter(stage_id=self.stage_id)
                .exclude(pk=self.pk)
                .values_list("key", flat=True)
            )
            self.key = moment_key(self.when, taken)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "key"}
        super().save(*args, **kwargs)

    @property
    def ref(self) -> str:
        return f"{self.stage.journey.key}/{self.stage.key}/{self.key}"

    @property
    def anchor(self) -> str:
        """The moment's id on the journey map, for links from other pages."""
        return f"moment-{self.stage.journey.key}-{self.stage.key}-{self.key}"

    @property
    def shown_version(self) -> str:
        """The digest of what the page shows of this moment (journeys.services.moment_version),
        for forms that act on it as shown."""
        from journeys.services import moment_version

        return moment_version(self)


class Milestone(models.Model):
    """A step on a segment's time-to-value map: what customers reach, and by which day."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="milestones")
    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    expected_day = models.PositiveIntegerField(
        help_text="Days from the customer's start by which they should reach it."
    )
    moment = models.ForeignKey(
        Moment, on_delete=models.SET_NULL, null=True, blank=True, related_name="milestones"
    )
    # The milestone at which the segment's success outcome is reached (at most one).
    success = models.BooleanField(default=False)

    class Meta:
        ordering = ["segment_id", "expected_day", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="milestone_key_shape"),
            models.UniqueConstraint(fields=["segment", "key"], name="milestone_key_unique"),
            models.UniqueConstraint(
                fields=["segment"], condition=Q(success=True), name="one_success_milestone"
            ),
        ]

    def __str__(self) -> str:
        return f"Day {self.expected_day}: {self.name}"

    @property
    def ref(self) -> str:
        return f"{self.segment.key}/{self.key}"


class MilestoneReading(models.Model):
    """How customers of the segment are doing at a milestone, as of one day."""

    class Source(models.TextChoices):
        CHECK_IN = "check_in", "Check-in"
        API = "api", "API"
        CSV = "csv", "CSV upload"
        FEED = "feed", "Scheduled pull"

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="readings")
    measured_on = models.DateField()
    actual_days = models.DecimalField(
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Days customers actually took to reach the milestone (median).",
    )
    completion_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Percent of the segment's customers who reached it by the expected day.",
    )
    customers = models.PositiveIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CHECK_IN)
    author = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["milestone_id", "-measured_on", "-id"]
        constraints = [
            # One reading a day per milestone: a later one for the same day replaces it.
            models.UniqueConstraint(fields=["milestone", "measured_on"], name="one_reading_a_day"),
            models.CheckConstraint(
                condition=Q(actual_days__isnull=False) | Q(completion_rate__isnull=False),
                name="reading_says_something",
            ),
            models.CheckConstraint(
                condition=Q(completion_rate__isnull=True)
                | Q(completion_rate__gte=0, completion_rate__lte=100),
                name="reading_completion_is_a_percent",
            ),
            models.CheckConstraint(
                condition=Q(actual_days__isnull=True) | Q(actual_days__gte=0),
                name="reading_days_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.milestone} on {self.measured_on}"


# Who speaks at one moment fits on a card: more is a list nobody reads (and a page that
# grows without bound).
TOUCHPOINTS_PER_MOMENT = 20


class Touchpoint(models.Model):
    """Who speaks to the customer at a moment, through which channel."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        IN_APP = "in_app", "In-app message"
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        CHAT = "chat", "Chat"
        WEBINAR = "webinar", "Webinar"
        SMS = "sms", "Text message"
        LETTER = "letter", "Letter"
        OTHER = "other", "Other"

    moment = models.ForeignKey(Moment, on_delete=models.CASCADE, related_name="touchpoints")
    position = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Who speaks: a function ("Customer Success") or a squad; at least one.
    function = models.CharField(max_length=100, blank=True)
    # The squads app sits above this one; its model is named, never imported.
    squad = models.ForeignKey(
        "squads.Squad", on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    # Which of the journey's segments it addresses; None: all of them.
    segment = models.ForeignKey(
        Segment, on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    message = models.TextField(blank=True, help_text="What is said.")

    class Meta:
        ordering = ["moment_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(function="") | Q(squad__isnull=False), name="touchpoint_has_a_speaker"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} at {self.moment}"

    @property
    def speaker(self) -> str:
        """Who speaks, in words: "Customer Success", "First 90 Days", or both. A squad that was
        removed is not named (it shows nowhere until it is restored)."""
        squad = ""
        if self.squad_id is not None and self.squad.removal_id is None:
            squad = self.squad.name
        if self.function and squad:
            return f"{self.function} ({squad})"
        return self.function or squad or "a removed squad"

    @property
    def audience(self) -> str:
        return self.segment.name if self.segment_id is not None else "all segments"

    @property
    def shown_version(self) -> str:
        """The digest of this touchpoint as the page shows it (journeys.touchpoints)."""
        from journeys.touchpoints import touchpoint_version

        return touchpoint_version(self)
