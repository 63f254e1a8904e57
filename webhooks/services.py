"""Writes for outgoing webhooks: the subscriptions people manage, the deliveries events make,
and each try of a delivery (docs/webhooks.md).

Events reach this app through core.events (`event_published`, `events_published`) after the
change commits. Each subscription that wants an event gets one Delivery, its body fixed
then; the worker sends it (webhooks.tasks), so a receiver that is slow or down never holds
a person's request. A try that fails (no answer, not 2xx) is tried again after
WEBHOOK_RETRY_SECONDS, then four times that, and so on, WEBHOOK_ATTEMPTS tries in all.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import outbound
from core.events import EVENTS, Event, event_published, events_published
from core.validators import is_blank
from webhooks import payloads, signing
from webhooks.models import Attempt, Delivery, Subscription, new_secret

logger = logging.getLogger(__name__)

CONNECT_SECONDS = 5
READ_SECONDS = 10
# The whole try, however slowly the receiver answers.
TRY_SECONDS = 30
# What is read of an answer, and what the delivery log keeps of it.
READ_BYTES = 64 * 1024
EXCERPT_CHARS = 1000
BATCH = 500
EARLY = dt.timedelta(seconds=2)
NAME_MAX = 100
# How many subscriptions one squad may have, and how many may be for every squad: each is a
# POST (and up to WEBHOOK_ATTEMPTS tries) per event, to an address someone gave.
MAX_PER_SQUAD = 10
MAX_COMPANY_WIDE = 25


# --- subscriptions --------------------------------------------------------------------


def url_problem(url: str) -> str:
    """Why a receiver's address is refused ("" when it is not): the checks of every address
    the server reaches (core.outbound), the host looked up."""
    return outbound.address_problem(
        url,
        allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
        example="https://hooks.example.com/throughline",
        reaches="only sends to public addresses",
    )


def _check(*, name: str, url: str, format: str, events: Iterable[str]) -> dict:
    errors: dict[str, str] = {}
    if is_blank(name):
        errors["name"] = "Name it, so people know where it sends to."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Keep the name under {NAME_MAX} characters."
    if len(url) > 2000:
        errors["url"] = "Keep the address under 2,000 characters."
    elif problem := url_problem(url):
        errors["url"] = problem
    if format not in Subscription.Format.values:
        errors["format"] = "Choose Throughline JSON, Slack or Microsoft Teams."
    events = list(dict.fromkeys(events))  # each once, in the order given
    if not events:
        errors["events"] = "Choose at least one event."
    elif unknown := [e for e in events if e not in EVENTS]:
        errors["events"] = f"Unknown event: {', '.join(unknown)}."
    if errors:
        raise ValidationError(errors)
    return {"name": name.strip(), "url": url, "format": format, "events": events}


def _room(squad, *, besides: Subscription | None = None) -> None:
    """ValidationError when the squad (None: every squad) has all the subscriptions it may."""
    others = Subscription.objects.filter(squad=squad)
    if besides is not None:
        others = others.exclude(pk=besides.pk)
    limit = MAX_PER_SQUAD if squad is not None else MAX_COMPANY_WIDE
    if others.count() < limit:
        return
    if squad is not None:
        message = (
            f"{squad.name} has {limit} webhooks and chat channels already, the most a squad "
            "may have: remove one first."
        )
    else:
        message = (
            f"There are {limit} webhooks for every squad already, the most there may be: "
            "remove one first, or make this one a squad's."
        )
    raise ValidationError({"squad": message})


def subscription_create(
    *, by, name: str, url: str, format: str, events: Iterable[str], squad=None
) -> Subscription:
    """A new subscription, with a new secret."""
    values = _check(name=name, url=url.strip(), format=format, events=events)
    _room(squad)
    return Subscription.objects.create(**values, squad=squad, created_by=by)


def subscription_update(
    *,
    subscription: Subscription,
    name: str,
    url: str,
    format: str,
    events: Iterable[str],
    squad=None,
    active: bool = True,
) -> Subscription:
    values = {
        **_check(name=name, url=url.strip(), format=format, events=events),
        "squad": squad,
        "active": active,
    }
    if squad != subscription.squad:
        _room(squad, besides=subscription)
    fields = ["updated_at", *values]
    if values["format"] != subscription.format:
        # Who reads the secret may change with the format (a squad's DRI manages its chat
        # channels), and the old receiver's secret must not follow: a new one. What waited to
        # be sent in the old format is never sent (see _unsendable).
        subscription.secret = new_secret()
        fields.append("secret")
    for field, value in values.items():
        setattr(subscription, field, value)
    # Only these fields: a new secret given meanwhile (rotation) is never written back.
    subscription.save(update_fields=fields)
    return subscription


def subscription_rotate_secret(*, subscription: Subscription) -> Subscription:
    """A new secret; the old one signs nothing from now on."""
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    """Gone with its delivery log: a receiver's address is set-up, not planning."""
    subscription.delete()


# --- events into deliveries -----------------------------------------------------------


def deliveries_create(events: list[Event]) -> list[int]:
    """One pending delivery per event and subscription that wants it; their ids."""
    subscriptions = list(Subscription.objects.filter(active=True))
    if not subscriptions:
        return []
    now = timezone.now()
    made = []
    for event in events:
        for subscription in subscriptions:
            if subscription.wants(event.name, event.squad_ids):
                made.append(
                    Delivery(
                        subscription=subscription,
                        uid=uuid.uuid4().hex,
                        event_id=event.id,
                        event=event.name,
                        summary=event.summary,
                        body=payloads.body(event, subscription.format),
                        format=subscription.format,
                        next_attempt_at=now,
                    )
                )
    Delivery.objects.bulk_create(made, batch_size=2000)
    return [d.pk for d in made]


def _enqueue(ids: list[int]) -> None:
    """Hand the deliveries to the worker. With the broker away, they wait for the sweep
    (tasks.deliver_overdue) rather than fail the request that made them."""
    from webhooks import tasks

    for start in range(0, len(ids), BATCH):
        try:
            tasks.deliver_many.delay(ids[start : start + BATCH])
        except Exception:  # noqa: BLE001 - any broker failure: the sweep sends them later
            logger.warning("Could not queue %d webhook deliveries; the sweep will", len(ids))
            return


def _heard(events: list[Event]) -> None:
    # After the change committed: whatever goes wrong here must not fail the person's
    # request, whose change is saved.
    try:
        ids = deliveries_create(events)
    except Exception:
        logger.exception("Could not record webhook deliveries for %d events", len(events))
        return
    if ids:
        _enqueue(ids)


def _heard_one(sender, event: Event, **kwargs) -> None:
    _heard([event])


def _heard_many(sender, events: list[Event], **kwargs) -> None:
    _heard(events)


def connect() -> None:
    event_published.connect(_heard_one, dispatch_uid="webhooks.one")
    events_published.connect(_heard_many, dispatch_uid="webhooks.many")


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again, as a new delivery of the same event and body (tried and
    retried like the first), once this transaction commits. ValidationError when it cannot
    be sent: the subscription is paused, or now sends another format than the body's."""
    if problem := _unsendable(delivery.subscription, delivery):
        raise ValidationError(problem)
    again = Delivery.objects.create(
        subscription=delivery.subscription,
        uid=uuid.uuid4().hex,
        event_id=delivery.event_id,
        event=delivery.event,
        summary=delivery.summary,
        body=delivery.body,
        format=delivery.format,
        next_attempt_at=timezone.now(),
        redelivery_of=delivery,
    )
    transaction.on_commit(lambda: _enqueue([again.pk]))
    return again


# --- sending --------------------------------------------------------------------------


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed try: 1, 4, 16, ... times the base."""
    return settings.WEBHOOK_RETRY_SECONDS * 4 ** (attempts - 1)


def _read(response: requests.Response, deadline: float) -> bytes:
    """The start of the answer: at most READ_BYTES, read until `deadline`."""
    body = bytearray()
    try:
        while len(body) < READ_BYTES and time.monotonic() < deadline:
            chunk = response.raw.read1(READ_BYTES - len(body), decode_content=True)
            if not chunk:
                break
            body += chunk
    except (urllib3.exceptions.HTTPError, OSError):
        pass  # what was read is what the log shows
    return bytes(body)


PAUSED = "The subscription is paused: switch it on to send again."
OTHER_FORMAT = (
    "This delivery was made as {made}; the subscription now sends {now}, so it is not sent."
)


def _unsendable(subscription: Subscription, delivery: Delivery) -> str:
    """Why this delivery may not go out now ("" when it may)."""
    if not subscription.active:
        return PAUSED
    if delivery.format != subscription.format:
        labels = dict(Subscription.Format.choices)
        return OTHER_FORMAT.format(
            made=labels.get(delivery.format, delivery.format),
            now=labels.get(subscription.format, subscription.format),
        )
    return ""


def _send(subscription: Subscription, delivery: Delivery) -> dict:
    """One try: the attempt's fields (status code or error, the answer's start)."""
    if problem := url_problem(subscription.url):
        return {"error": problem}
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Throughline-Webhooks/1",
        "X-Throughline-Event": delivery.event,
        "X-Throughline-Delivery": delivery.uid,
        signing.HEADER: signing.sign(subscription.secret, body, int(time.time())),
    }
    deadline = time.monotonic() + TRY_SECONDS
    with outbound.session(
        allow_private=settings.WEBHOOKS_ALLOW_PRIVATE, seconds=TRY_SECONDS
    ) as session:
        try:
            response = session.post(
                subscription.url,
                data=body,
                headers=headers,
                timeout=(CONNECT_SECONDS, READ_SECONDS),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout:
            return {"error": f"No answer within {CONNECT_SECONDS + READ_SECONDS} seconds."}
        except requests.RequestException as exc:
            if session.expired:  # cut, however slowly the answer's head was coming
                return {"error": f"No whole answer within {TRY_SECONDS} seconds."}
            return {
                "error": outbound.refusal(exc)
                or f"Could not reach the address ({type(exc).__name__})."
            }
        with response:
            text = _read(response, deadline).decode("utf-8", errors="replace")
            if session.expired:
                # Cut at the end of the try: a cut reads as the end of the head or the body,
                # so what came is not a whole answer.
                return {"error": f"No whole answer within {TRY_SECONDS} seconds."}
            found = {"status_code": response.status_code, "response_excerpt": text[:EXCERPT_CHARS]}
            if response.is_redirect:
                found["error"] = "Redirects are not followed: give the final address."
            return found


def delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> Attempt | None:
    """Try a pending delivery whose time has come, once; record the try and what follows
    (delivered, tried again later, or failed for good). None when it is not this call's to
    try: delivered, failed, not due yet, or taken by another worker (a compare-and-swap on
    its number of tries)."""
    now = now or timezone.now()
    delivery = (
        Delivery.objects.select_related("subscription")
        .filter(pk=delivery_id, state=Delivery.State.PENDING)
        .first()
    )
    # A retry's countdown may end a moment before the time written beside it.
    if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY):
        return None
    number = delivery.attempts + 1
    # Taken until the try must be over: should this worker vanish meanwhile, the sweep
    # (overdue_deliveries) finds it afterwards.
    lease = now + dt.timedelta(seconds=2 * TRY_SECONDS)
    taken = Delivery.objects.filter(
        pk=delivery.pk, state=Delivery.State.PENDING, attempts=delivery.attempts
    ).update(attempts=number, next_attempt_at=lease)
    if not taken:
        return None
    started, clock = timezone.now(), time.monotonic()
    # Paused, or made in a format the subscription no longer sends: not sent, for good
    # (redelivering it, once it may go, is a person's choice).
    refused = _unsendable(delivery.subscription, delivery)
    found = {"error": refused} if refused else _send(delivery.subscription, delivery)
    attempt = Attempt.objects.create(
        delivery=delivery,
        number=number,
        started_at=started,
        duration_ms=int((time.monotonic() - clock) * 1000),
        status_code=found.get("status_code"),
        error=found.get("error", "")[:300],
        response_excerpt=found.get("response_excerpt", ""),
    )
    if attempt.succeeded and not attempt.error:
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.SUCCEEDED)
    elif refused or number >= settings.WEBHOOK_ATTEMPTS:
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED)
    else:
        delay = retry_delay(number)
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() + dt.timedelta(seconds=delay)
        )
        from webhooks import tasks

        tasks.deliver.apply_async((delivery.pk,), countdown=delay)
    return attempt


def overdue_deliveries(*, now: dt.datetime | None = None, grace_seconds: int = 120) -> list[int]:
    """Pending deliveries whose try is late by more than `grace_seconds` (their task was
    lost: the broker was away, or a worker died holding it)."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            state=Delivery.State.PENDING,
            next_attempt_at__lt=now - dt.timedelta(seconds=grace_seconds),
        ).values_list("pk", flat=True)[:5000]
    )
