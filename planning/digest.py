"""The daily email digest: what a DRI or a provider should look at today.

Each DRI hears about the findings that concern the squads they lead (new since yesterday,
and those still open), the dependencies of those squads due within a week, and the ones
their squads need that were declined or are at risk. Whoever owns a dependency on the
provider side hears about it when it is due within a week. Everyone told since yesterday
that a dependency their squad needs was declined or put at risk (a DRI or a member: the
in-app notifications of planning.services.dependency_news_notify) finds that news again.
A dependency declined or at risk says where the customer feels it, as its findings do
(planning/customer_impact.py). An empty digest is not sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, mailers
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from dependencies.models import Dependency
from planning.customer_impact import felt_by_customers
from planning.models import Finding, Notification, NotificationPreference
from squads.models import Squad

logger = logging.getLogger(__name__)
User = get_user_model()

DUE_WITHIN_DAYS = 7
NEW_WITHIN = dt.timedelta(days=1)


def absolute(path: str) -> str:
    return f"{settings.THROUGHLINE_URL}{path}"


def finding_link(finding: Finding) -> str:
    return absolute(reverse("finding", args=[finding.pk]))


def dependency_link(dep: Dependency) -> str:
    return absolute(f"{reverse('board:board')}?{urlencode({'dep': dep.key})}")


@dataclass
class Digest:
    user: object
    new_findings: list[Finding] = field(default_factory=list)
    open_findings: list[Finding] = field(default_factory=list)
    due_soon: list[Dependency] = field(default_factory=list)
    in_trouble: list[Dependency] = field(default_factory=list)
    # Since yesterday: dependencies their squads need that were declined or put at risk.
    news: list[Notification] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.new_findings or self.open_findings or self.due_soon or self.in_trouble or self.news
        )

    @property
    def name(self) -> str:
        profile = getattr(self.user, "profile", None)
        return profile.display_name if profile else self.user.get_username()

    @property
    def subject(self) -> str:
        parts = []
        if self.news:
            parts.append(f"{len(self.news)} dependency(ies) declined or put at risk")
        if self.new_findings:
            parts.append(f"{len(self.new_findings)} new finding(s)")
        if self.due_soon:
            parts.append(f"{len(self.due_soon)} dependency(ies) due this week")
        if self.in_trouble and not self.news:
            parts.append(f"{len(self.in_trouble)} declined or at risk")
        if not parts:
            parts.append(f"{len(self.open_findings)} open finding(s)")
        return "Throughline today: " + ", ".join(parts)


def _needer_key(dep: Dependency) -> str:
    return dep.needer_squad().key


def _provider_key(dep: Dependency) -> str | None:
    if dep.to_squad_id:
        return dep.to_squad.key
    return dep.to_initiative.squad.key if dep.to_initiative_id else None


def digests(today: dt.date, now: dt.datetime | None = None) -> list[Digest]:
    """Every non-empty digest for today, in a fixed number of queries."""
    now = now or timezone.now()
    led: dict[int, set[str]] = defaultdict(set)
    for dri_id, key in Squad.objects.filter(cycle__ends__gte=today).values_list("dri_id", "key"):
        led[dri_id].add(key)

    live = Finding.objects.filter(
        state__in=[Finding.State.OPEN, Finding.State.ACKNOWLEDGED], cycle__ends__gte=today
    ).order_by("id")
    findings = list(live)

    open_deps = list(
        Dependency.objects.exclude(status__in=[Dependency.Status.DONE])
        .filter(
            Q(due__lte=today + dt.timedelta(days=DUE_WITHIN_DAYS))
            | Q(status__in=[Dependency.Status.DECLINED, Dependency.Status.AT_RISK])
        )
        .select_related("from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad")
        .order_by("due", "key")
    )

    news = list(
        Notification.objects.filter(
            kind=Notification.Kind.DEPENDENCY,
            created_at__gt=now - NEW_WITHIN,
            # Not about a dependency removed since (core/removal.py).
            dependency__removal__isnull=True,
        ).order_by("created_at", "id")
    )

    people = set(led) | {d.owner_id for d in open_deps if d.owner_id}
    people |= {note.recipient_id for note in news}
    result: dict[int, Digest] = {}
    users = User.objects.filter(pk__in=people, is_active=True).select_related("profile")
    for user in users:
        result[user.pk] = Digest(user=user)

    # Who leads each squad: each finding and dependency reaches its people by squad key,
    # not by going through everyone.
    leaders: dict[str, set[int]] = defaultdict(set)
    for person_id, keys in led.items():
        if person_id in result:
            for key in keys:
                leaders[key].add(person_id)

    severity_order = {"high": 0, "medium": 1, "low": 2}
    findings.sort(key=lambda f: (severity_order.get(f.severity, 3), -f.last_seen.timestamp()))
    for finding in findings:
        concerned = {s.split(":", 1)[1] for s in finding.subjects if s.startswith("squad:")}
        is_new = now - finding.first_seen <= NEW_WITHIN and finding.state == "open"
        for person_id in sorted(set().union(*(leaders[key] for key in concerned))):
            digest = result[person_id]
            (digest.new_findings if is_new else digest.open_findings).append(finding)

    told: dict[int, set[int]] = defaultdict(set)  # person -> dependencies in their news
    for note in news:
        if note.recipient_id in result:
            result[note.recipient_id].news.append(note)
            told[note.recipient_id].add(note.dependency_id)

    soon = today + dt.timedelta(days=DUE_WITHIN_DAYS)
    for dep in open_deps:
        due_soon = dep.status != Dependency.Status.DECLINED and today <= dep.due <= soon
        trouble = dep.status in (Dependency.Status.DECLINED, Dependency.Status.AT_RISK)
        needers = leaders[_needer_key(dep)]
        provider = _provider_key(dep)
        if due_soon:
            people = needers | (leaders[provider] if provider else set())
            if dep.owner_id in result:
                people = people | {dep.owner_id}
            for person_id in people:
                result[person_id].due_soon.append(dep)
        if trouble:
            for person_id in needers:
                if dep.pk not in told[person_id]:  # the news says it already
                    result[person_id].in_trouble.append(dep)
    found = [digest for digest in result.values() if digest]
    troubled = {dep.pk: dep for digest in found for dep in digest.in_trouble}
    felt = felt_by_customers(troubled.values())
    for dep in troubled.values():
        dep.felt = felt.get(dep.pk, "")  # "puts Week 2: Team live at risk for ..."
    return found


def _email(digest: Digest, today: dt.date) -> EmailMultiAlternatives:
    context = {
        "digest": digest,
        "today": today,
        "findings_url": absolute(reverse("findings")),
        "settings_url": absolute(reverse("account")),
        "rows_new": [(f, finding_link(f)) for f in digest.new_findings],
        "rows_open": [(f, finding_link(f)) for f in digest.open_findings],
        "rows_due": [(d, dependency_link(d)) for d in digest.due_soon],
        "rows_trouble": [(d, dependency_link(d)) for d in digest.in_trouble],
        "rows_news": [(n, absolute(n.url)) for n in digest.news],
    }
    message = EmailMultiAlternatives(
        subject=digest.subject,
        body=render_to_string("emails/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[digest.user.email],
    )
    message.attach_alternative(render_to_string("emails/digest.html", context), "text/html")
    return message


def send_daily_digests(today: dt.date | None = None) -> int:
    """Send today's digests to everyone who wants one and has not had today's; idempotent."""
    today = today or timezone.localdate()
    sent = 0
    pending = [d for d in digests(today) if d.user.email]
    wanted = NotificationPreference.wants("daily_digest", [d.user.pk for d in pending])
    already = set(
        NotificationPreference.objects.filter(
            user_id__in=wanted, last_digest_on__gte=today
        ).values_list("user_id", flat=True)
    )
    for digest in pending:
        if digest.user.pk not in wanted or digest.user.pk in already:
            continue
        try:
            mailers.default.send_messages([_email(digest, today)])
        except Exception:
            # One unreachable mailbox must not stop the others; the next run retries it.
            logger.exception("Could not send the daily digest to %s", digest.user.pk)
            continue
        NotificationPreference.objects.update_or_create(
            user=digest.user, defaults={"last_digest_on": today}
        )
        sent += 1
    return sent
