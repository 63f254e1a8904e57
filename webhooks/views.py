"""The webhooks settings pages: the list of subscriptions, adding, editing (with the secret
and its rotation), deleting, and each subscription's delivery log with redelivery.

Who may see and change what is core.access (can_open_webhooks, can_manage_subscription);
a subscription the person does not manage answers 404, as if it did not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access
from core.http import AuthedRequest
from webhooks import services
from webhooks.forms import SubscriptionForm
from webhooks.models import Attempt, Delivery, Subscription

NOT_ALLOWED = (
    "Operations and leadership manage webhooks; a squad's DRI adds Slack and Teams channels "
    "for their squad."
)
LOG_SIZE = 50


def _actor_may_open(request: AuthedRequest) -> access.Actor:
    actor = access.actor_for(request)
    if not access.can_open_webhooks(actor):
        raise PermissionDenied(NOT_ALLOWED)
    return actor


def _subscription_rw(request: AuthedRequest, pk: int) -> tuple[Subscription, access.Actor]:
    actor = access.actor_for(request)
    subscription = get_object_or_404(Subscription.objects.select_related("squad"), pk=pk)
    if not access.can_manage_subscription(actor, subscription):
        raise Http404("No such webhook.")
    return subscription, actor


def _values(form: SubscriptionForm) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "url": data["url"],
        "format": data["format"],
        "events": data["events"],
        "squad": data["squad"],
    }


@require_safe
def subscription_list(request: AuthedRequest) -> HttpResponse:
    actor = _actor_may_open(request)
    subscriptions = access.manageable_subscriptions(
        actor, Subscription.objects.select_related("squad")
    )
    return render(
        request,
        "webhooks/list.html",
        {
            "nav": "webhooks",
            "subscriptions": subscriptions,
            "company_wide": access.can_manage_webhooks(actor),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def subscription_create(request: AuthedRequest) -> HttpResponse:
    actor = _actor_may_open(request)
    form = SubscriptionForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscription_create(by=request.user, **_values(form))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                f"Added {subscription.name}. Its secret is below: receivers of Throughline "
                "JSON use it to check each delivery's signature.",
            )
            return redirect("webhooks:edit", pk=subscription.pk)
    return render(request, "webhooks/form.html", {"nav": "webhooks", "form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def subscription_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    subscription, actor = _subscription_rw(request, pk)
    initial = {
        "name": subscription.name,
        "url": subscription.url,
        "format": subscription.format,
        "events": subscription.events,
        "squad": subscription.squad,
        "active": subscription.active,
    }
    form = SubscriptionForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(
                subscription=subscription, active=form.cleaned_data["active"], **_values(form)
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved {subscription.name}.")
            return redirect("webhooks:list")
    return render(
        request,
        "webhooks/form.html",
        {"nav": "webhooks", "form": form, "subscription": subscription},
    )


@require_POST
def subscription_rotate(request: AuthedRequest, pk: int) -> HttpResponse:
    subscription, _actor = _subscription_rw(request, pk)
    services.subscription_rotate_secret(subscription=subscription)
    messages.success(
        request,
        f"{subscription.name} has a new secret; the old one signs nothing from now on. "
        "Give the new one to the receiver.",
    )
    return redirect("webhooks:edit", pk=subscription.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def subscription_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    subscription, _actor = _subscription_rw(request, pk)
    if request.method == "POST":
        services.subscription_delete(subscription=subscription)
        messages.success(request, f"Deleted {subscription.name} and its delivery log.")
        return redirect("webhooks:list")
    return render(
        request, "webhooks/delete.html", {"nav": "webhooks", "subscription": subscription}
    )


@require_safe
def subscription_log(request: AuthedRequest, pk: int) -> HttpResponse:
    subscription, _actor = _subscription_rw(request, pk)
    deliveries = subscription.deliveries.prefetch_related(
        Prefetch("tries", queryset=Attempt.objects.order_by("number"))
    )[:LOG_SIZE]
    return render(
        request,
        "webhooks/log.html",
        {"nav": "webhooks", "subscription": subscription, "deliveries": deliveries},
    )


@require_POST
def delivery_redeliver(request: AuthedRequest, pk: int, delivery: int) -> HttpResponse:
    subscription, _actor = _subscription_rw(request, pk)
    found = get_object_or_404(Delivery, pk=delivery, subscription=subscription)
    try:
        services.delivery_redeliver(delivery=found)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sending “{found.summary}” again.")
    return redirect("webhooks:log", pk=subscription.pk)
