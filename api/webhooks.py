"""The webhook and chat subscriptions through the API (/api/v1/webhooks), for scripts that set
up a company's channels: list, add, read, replace, delete, a new secret, and the delivery log.

The same rules as the settings pages (core.access, docs/webhooks.md): operations, leadership
and administrators manage every subscription; a squad's DRI manages Slack and Teams channels
of the squads they lead. A subscription the person does not manage answers 404, as if it did
not exist. The secret is in the answers that make one (adding, a new secret) and nowhere else.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from api.api import Pagination, _actor, _require, _squad
from api.schemas import Error, Input, Visible
from core import access
from core.events import EVENTS
from webhooks import services
from webhooks.models import Delivery, Subscription

webhooks = Router(tags=["webhooks"])

NOT_ALLOWED = (
    "Operations and leadership manage webhooks; a squad's DRI adds Slack and Teams channels "
    "for their squad."
)
EVENT_NAMES = ", ".join(EVENTS)


class SubscriptionOut(Schema):
    id: int
    name: str
    url: str
    format: str = Field(description="json (Throughline JSON, signed), slack or teams.")
    events: list[str]
    squad: str | None = Field(description="A squad's key: only events that concern it.")
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_squad(subscription) -> str | None:
        return subscription.squad.key if subscription.squad_id else None


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(
        description="Signs each delivery (X-Throughline-Signature); shown only in this answer."
    )


class SubscriptionIn(Input):
    name: Visible = Field(min_length=1, max_length=services.NAME_MAX)
    url: str = Field(min_length=1, max_length=2000, description="The receiver's address.")
    format: str = Field("json", max_length=10, description="json, slack or teams.")
    events: list[str] = Field(max_length=len(EVENTS), description=f"Any of {EVENT_NAMES}.")
    squad: str | None = Field(None, max_length=200, description="A squad's key, or none.")
    active: bool = True


class AttemptOut(Schema):
    number: int
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str


class DeliveryOut(Schema):
    id: int
    event: str
    state: str = Field(description="pending, succeeded or failed.")
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    tries: list[AttemptOut] = Field(description="Each try, the latest first.")

    @staticmethod
    def resolve_tries(delivery) -> list:
        return sorted(delivery.tries.all(), key=lambda a: -a.number)


def _subscriptions(request) -> QuerySet[Subscription]:
    actor = _actor(request)
    _require(access.can_open_webhooks(actor), NOT_ALLOWED)
    return access.manageable_subscriptions(
        actor, Subscription.objects.select_related("squad").order_by("name", "id")
    )


def _subscription(request, pk: int) -> Subscription:
    found = _subscriptions(request).filter(pk=pk).first()
    if found is None:
        raise Http404("No such webhook.")
    return found


def _values(request, payload: SubscriptionIn) -> dict:
    """The subscription's fields, once the person is allowed what the payload asks for."""
    squad = _squad(payload.squad) if payload.squad else None
    wanted = Subscription(format=payload.format, squad=squad)
    _require(access.can_manage_subscription(_actor(request), wanted), NOT_ALLOWED)
    return {
        "name": payload.name,
        "url": payload.url,
        "format": payload.format,
        "events": payload.events,
        "squad": squad,
    }


@webhooks.get(
    "",
    response={200: list[SubscriptionOut], 403: Error},
    summary="The subscriptions you manage (operations, leadership; a DRI their squads' chats)",
)
@paginate(Pagination)
def webhook_list(request):
    return _subscriptions(request)


@webhooks.post(
    "",
    response={201: SubscriptionWithSecret, 400: Error, 403: Error},
    summary="Add a subscription; the answer holds its secret, shown only here",
    description=(
        "The address is checked as the settings page checks it: http or https, no user name or "
        "password, and a host whose addresses are public (400 under errors.url otherwise)."
    ),
)
def webhook_create(request, payload: SubscriptionIn):
    values = _values(request, payload)
    made = services.subscription_create(by=request.user, **values)
    if not payload.active:  # added switched off: nothing is sent until it is switched on
        made.active = False
        made.save(update_fields=["active", "updated_at"])
    return Status(201, made)


@webhooks.get("/{int:pk}", response={200: SubscriptionOut, 403: Error}, summary="One subscription")
def webhook_detail(request, pk: int):
    return _subscription(request, pk)


@webhooks.put(
    "/{int:pk}",
    response={200: SubscriptionOut, 400: Error, 403: Error},
    summary="Replace a subscription's fields (its secret stays)",
)
def webhook_update(request, pk: int, payload: SubscriptionIn):
    subscription = _subscription(request, pk)
    values = _values(request, payload)
    return services.subscription_update(subscription=subscription, active=payload.active, **values)


@webhooks.delete(
    "/{int:pk}",
    response={204: None, 403: Error},
    summary="Delete a subscription and its delivery log",
)
def webhook_delete(request, pk: int):
    services.subscription_delete(subscription=_subscription(request, pk))
    return Status(204, None)


@webhooks.post(
    "/{int:pk}/secret",
    response={200: SubscriptionWithSecret, 403: Error},
    summary="A new secret; the old one signs nothing from now on",
)
def webhook_secret_create(request, pk: int):
    return services.subscription_rotate_secret(subscription=_subscription(request, pk))


@webhooks.get(
    "/{int:pk}/deliveries",
    response={200: list[DeliveryOut], 403: Error},
    summary="A subscription's deliveries, the newest first, each with its tries",
)
@paginate(Pagination)
def webhook_deliveries(request, pk: int):
    subscription = _subscription(request, pk)
    return (
        Delivery.objects.filter(subscription=subscription)
        .prefetch_related("tries")
        .order_by("-created_at", "-id")
    )


@webhooks.post(
    "/{int:pk}/deliveries/{int:delivery}/again",
    response={201: DeliveryOut, 400: Error, 403: Error},
    summary="Send a delivery again, as a new delivery of the same event and body",
    description="400 when it cannot go: the subscription is paused, or now sends another "
    "format than the delivery was made in.",
)
def webhook_redelivery_create(request, pk: int, delivery: int):
    subscription = _subscription(request, pk)
    found = Delivery.objects.filter(pk=delivery, subscription=subscription).first()
    if found is None:
        raise Http404("No such delivery of this webhook.")
    return Status(201, services.delivery_redeliver(delivery=found))
