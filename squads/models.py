from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from planning.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator


class Squad(models.Model):
    """A cross-functional team formed around a customer outcome for one planning cycle.

    Exactly one DRI, who is always a member: `dri` is required, and on PostgreSQL a deferred
    composite foreign key from (id, dri) to the squad's memberships makes the database refuse
    a DRI who is not a member (see migration 0002).
    """

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, unique=True, validators=[key_validator], help_text=KEY_HELP
    )
    name = models.CharField(max_length=200)
    cycle = models.ForeignKey("planning.Cycle", on_delete=models.PROTECT, related_name="squads")
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

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=key_check(), name="squad_key_shape")]

    def __str__(self) -> str:
        return self.name

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

    class Meta:
        ordering = ["squad_id", "id"]
        constraints = [models.UniqueConstraint(fields=["squad", "stage"], name="squad_stage_once")]

    def __str__(self) -> str:
        return f"{self.squad} covers {self.stage}"


class OKR(models.Model):
    squad = models.ForeignKey(Squad, on_delete=models.CASCADE, related_name="okrs")
    cycle = models.ForeignKey("planning.Cycle", on_delete=models.CASCADE, related_name="okrs")
    objective = models.TextField(help_text="Qualitative and customer-facing.")

    class Meta:
        verbose_name = "OKR"
        verbose_name_plural = "OKRs"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["squad", "cycle"], name="one_okr_per_squad_per_cycle")
        ]

    def __str__(self) -> str:
        return self.objective


class KeyResult(models.Model):
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

    history = HistoricalRecords()

    class Meta:
        ordering = ["okr_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["okr", "key"], name="key_result_key_unique_in_okr"),
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
