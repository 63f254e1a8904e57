"""Outgoing webhooks: where Throughline tells other tools what happened (docs/webhooks.md).

A Subscription is a receiver's address, the events it wants, an optional squad, and the
format of what is sent (Throughline's JSON, a Slack message, a Microsoft Teams card). Each
event a subscription wants becomes one Delivery (its body fixed when the event happens),
sent by the worker and tried again with growing pauses; each try is an Attempt, the delivery
log's lines.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from core.events import EVENTS


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


class SubscriptionQuerySet(models.QuerySet):
    def wanting(self, event_name: str, squad_ids) -> list[Subscription]:
        """The active subscriptions that want this event (read from a list of all active
        ones: a company has a few dozen at most)."""
        return [s for s in self if s.wants(event_name, squad_ids)]


class Subscription(models.Model):
    class Format(models.TextChoices):
        JSON = "json", "Throughline JSON (signed)"
        SLACK = "slack", "Slack message"
        TEAMS = "teams", "Microsoft Teams card"

    # A squad's DRI may add these for their own squad (core.access).
    CHAT_FORMATS = (Format.SLACK, Format.TEAMS)

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=2000)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.JSON)
    events = models.JSONField(default=list, help_text="The names of the events it wants.")
    squad = models.ForeignKey(
        "squads.Squad",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text="Only events that concern this squad; empty: every event.",
    )
    secret = models.CharField(max_length=100, default=new_secret)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_chat(self) -> bool:
        return self.format in self.CHAT_FORMATS

    def wants(self, event_name: str, squad_ids) -> bool:
        return (
            self.active
            and event_name in self.events
            and (self.squad_id is None or self.squad_id in squad_ids)
        )

    def event_labels(self) -> list[str]:
        return [EVENTS[name] for name in EVENTS if name in self.events]


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Sent as X-Throughline-Delivery: the same on every try of it, new when redelivered.
    uid = models.CharField(max_length=32, unique=True)
    event_id = models.CharField(max_length=32)
    event = models.CharField(max_length=40)
    summary = models.TextField(blank=True)
    body = models.TextField(help_text="Exactly what is sent, in the subscription's format.")
    # The subscription's format when the body was made: a body is never sent, nor sent
    # again, once the subscription sends another format.
    format = models.CharField(max_length=10, choices=Subscription.Format.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["subscription", "-created_at"], name="webhooks_delivery_log"),
            models.Index(fields=["state", "next_attempt_at"], name="webhooks_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.subscription_id} ({self.uid})"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
