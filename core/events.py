"""What happened, told to whoever listens: the events outgoing webhooks and chat messages carry.

A service that changes something people outside Throughline follow calls `publish` inside its
transaction; listeners (the webhooks and the chat channels, above every app) hear it through
`event_published` only once the transaction commits, so nothing is told about a change that
was rolled back. The lower layers never import their listeners: they send, others connect.

A change that makes many events at once (an import of a thousand dependencies) calls
`publish_many`: listeners hear them together, once, through `events_published`, so they can
handle them with a few queries instead of a few per event. A listener connects to both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

# Every event a subscription can choose, in the order the settings page lists them.
EVENTS: dict[str, str] = {
    "dependency.requested": "A dependency is requested",
    "dependency.accepted": "A dependency is accepted",
    "dependency.declined": "A dependency is declined",
    "dependency.at_risk": "A dependency is put at risk",
    "dependency.done": "A dependency is done",
    "finding.opened": "The review opens a finding",
    "finding.resolved": "A finding is resolved",
    "plan.approved": "A squad's plan is approved",
    "cycle.state_changed": "A planning cycle moves to another state",
}


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing that happened.

    `summary` is one plain sentence a person reads in a chat message ("Payments declined
    'Refund API' for Onboarding"); `path` is the app's address of the item (no host);
    `squad_ids` are the squads concerned (a dependency's two sides, a finding's subjects);
    `data` holds the event's own fields, as documented for the webhook payload.
    """

    name: str
    summary: str
    path: str
    squad_ids: tuple[int, ...]
    data: dict[str, Any]
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: dt.datetime = dataclasses.field(default_factory=timezone.now)


# Sent once the change commits, with `event=` an Event.
event_published = Signal()
# Sent once the change commits, with `events=` a list of Events (publish_many).
events_published = Signal()


def publish(
    name: str, *, summary: str, path: str, squad_ids=(), data: dict[str, Any] | None = None
) -> Event:
    """Tell listeners about `name` once the current transaction commits (at once outside one)."""
    event = _event(name, summary=summary, path=path, squad_ids=squad_ids, data=data)
    transaction.on_commit(lambda: event_published.send(sender=Event, event=event))
    return event


def publish_many(items: list[dict[str, Any]]) -> list[Event]:
    """Tell listeners about many events at once (each item holds publish's arguments, `name`
    included), once the current transaction commits, through `events_published`."""
    events = [_event(**item) for item in items]
    if events:
        transaction.on_commit(lambda: events_published.send(sender=Event, events=events))
    return events


def _event(name: str, *, summary: str, path: str, squad_ids=(), data=None) -> Event:
    if name not in EVENTS:
        raise ValueError(f"Unknown event {name!r}.")
    return Event(
        name=name,
        summary=summary,
        path=path,
        squad_ids=tuple(sorted({int(pk) for pk in squad_ids})),
        data=dict(data or {}),
    )
