"""The needing squad hears when the provider declines a dependency or puts it at risk.

dependencies.services.dependency_respond sends dependencies.signals.dependency_answered (the
dependencies app may not import this one); connect() listens to it. The DRI and the members
of the squad that needs the dependency, except whoever answered, get an in-app notification
at once, in the answer's transaction, and an email after it commits if they want serious
news at once (NotificationPreference.immediate_high). The news says where the customer
feels it, as the review's findings do (planning/customer_impact.py). The daily digest
(planning.digest) repeats the day's news.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from core.people import display_name
from dependencies.signals import dependency_answered
from planning.customer_impact import felt_by_customers
from planning.models import Notification, NotificationPreference
from planning.services import emails_send

# What the needing squad hears when its provider answers: the headline, the email's
# subject and what to do about it.
DEPENDENCY_NEWS = {
    "decline": (
        "{who} declined {thing}",
        "{who} declined “{what}”",
        "Find another provider, build it yourselves or re-plan the work that needs it.",
    ),
    "at_risk": (
        "{who} marked {thing} at risk",
        "“{what}” is at risk",
        "Ask {provider} what would bring it back on track, or plan for it coming late.",
    ),
}


def dependency_news_notify(*, dependency, by, action: str, reason: str = "") -> int:
    """Tell the needing squad's DRI and members (not whoever answered) that the provider
    declined the dependency or put it at risk: in the app at once, in this transaction, and
    by email after it commits to those who want serious news at once. The number told.
    `by` None: a planning file set the status, and the news says so."""
    if action not in DEPENDENCY_NEWS:
        return 0
    headline, subject, advice = DEPENDENCY_NEWS[action]
    needer = dependency.needer_squad()
    provider_squad = dependency.provider_squad()
    provider = provider_squad.name if provider_squad else dependency.to_function
    people = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(pk=needer.dri_id) | Q(memberships__squad=needer))
        .exclude(pk=by.pk if by is not None else None)
        .distinct()
        .select_related("profile")
    )
    who = display_name(by) if by is not None else "A planning file import"
    due = f"{dependency.due.day} {dependency.due:%b %Y}"
    thing = f"“{dependency.what}” ({dependency.key})"
    message = (
        headline.format(who=who, thing=thing)
        + f", which {needer.name} needs from {provider} by {due}"
        + (f": “{reason}”" if reason else ".")
    )
    felt = felt_by_customers([dependency]).get(dependency.pk)
    if felt:
        message = f"{message.rstrip('.')}. Left as it is, this {felt}."
    url = f"{reverse('board:board')}?{urlencode({'dep': dependency.key})}"
    told = Notification.objects.bulk_create(
        Notification(
            recipient=person,
            kind=Notification.Kind.DEPENDENCY,
            dependency=dependency,
            url=url,
            message=message,
        )
        for person in people
    )
    wanted = NotificationPreference.wants("immediate_high", [n.recipient_id for n in told])
    base = settings.THROUGHLINE_URL
    emails = [
        EmailMessage(
            subject=subject.format(who=who, what=dependency.what),
            body="\n".join(
                [
                    f"Hello {display_name(n.recipient)},",
                    "",
                    message,
                    f"{base}{url}",
                    "",
                    advice.format(provider=provider),
                    "",
                    f"Email settings: {base}{reverse('account')}",
                ]
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[n.recipient.email],
        )
        for n in told
        if n.recipient_id in wanted and n.recipient.email
    ]
    if emails:
        transaction.on_commit(lambda: emails_send(emails), robust=True)
    return len(told)


def _on_dependency_answered(sender, *, dependency, by, action, reason="", **kwargs) -> None:
    dependency_news_notify(dependency=dependency, by=by, action=action, reason=reason)


def connect() -> None:
    """Listen to the dependencies app (apps.PlanningConfig.ready)."""
    dependency_answered.connect(
        _on_dependency_answered, weak=False, dispatch_uid="planning-dependency-news"
    )
