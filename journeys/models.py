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

_OFFSET_RE = re.compile(r"^\s*(hour|day|week|month|quarter|year)s?\s+(\d{1,4})\s*$", re.IGNORECASE)
_UNIT_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}


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

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=key_check(), name="segment_key_shape")]

    def __str__(self) -> str:
        return self.name


def _segments_by_priority() -> Prefetch:
    return Prefetch(
        "segments",
        queryset=Segment.objects.order_by(F("priority").asc(nulls_last=True), "name", "id"),
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
        return self.select_related("journey").prefetch_related("moments", _covering_squads(cycle))

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
        ["name", "customer_goal", "today", "tomorrow", "emotion_today", "emotion_target"], "version"
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
        ]

    def __str__(self) -> str:
        return f"{self.journey.name}: {self.name}"

    @property
    def ref(self) -> str:
        return f"{self.journey.key}/{self.key}"


class Moment(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="moments")
    position = models.PositiveIntegerField(default=0)
    when = models.CharField(max_length=40, help_text='A time offset such as "Day 1" or "Week 2".')
    offset_days = models.FloatField(help_text="The offset in days, for ordering moments in time.")
    today = models.TextField(blank=True)
    tomorrow = models.TextField()

    class Meta:
        ordering = ["stage_id", "offset_days", "position", "id"]

    def __str__(self) -> str:
        return f"{self.when}: {self.tomorrow[:40]}"

    def save(self, *args, **kwargs):
        offset = parse_offset(self.when)
        if offset is not None:
            self.offset_days = offset
        super().save(*args, **kwargs)

    @property
    def shown_version(self) -> str:
        """The digest of what the page shows of this moment (journeys.services.moment_version),
        for forms that act on it as shown."""
        from journeys.services import moment_version

        return moment_version(self)
