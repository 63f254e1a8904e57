"""Who may do what, as observed: every route × every role, on the demo company.

tests/test_permissions.py compares what this observes with the table in
docs/permissions.md, and fails for a route the table does not list. To see the table the
code currently implements (after adding a view, say), run
`.venv/bin/python -m pytest tests/test_permissions.py --permissions-table`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
ROLES = ["anonymous", "reader", "member", "dri", "provider", "leadership", "operations", "admin"]
# What each role is in the demo company, for the objects below: the First 90 Days squad
# (its plan, key results, initiatives), the dependency "messaging-mid-q1" that squad needs
# from Product-led Growth, and a finding that concerns both.
ROLE_USERS = {
    "reader": "rita",  # signed in, in no squad and no group
    "member": "ada",  # a member of First 90 Days
    "dri": "priya",  # the DRI of First 90 Days
    "provider": "omar",  # DRI of Product-led Growth, which provides messaging-mid-q1
    "leadership": "lena",  # in the Leadership group, in no squad
    "operations": "otto",  # in the Operations group, in no squad
    "admin": "admin",  # a superuser
}
OUTCOMES = {"yes", "no", "login", "open"}
LOGIN_PATH = "/accounts/login/"


@dataclass(frozen=True)
class Case:
    route: str
    method: str


def routes() -> set[str]:
    """Every named route of the app, except Django's own admin."""

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith("admin/"):
                    continue
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                name = pattern.name or f"(unnamed {pattern.pattern})"
                yield f"{namespace}:{name}" if namespace else name

    return set(walk(get_resolver().url_patterns, None))


def documented() -> dict[Case, dict[str, str]]:
    """The table in docs/permissions.md: (route, method) -> role -> outcome."""
    table: dict[Case, dict[str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(ROLES) or cells[0] in ("Route", "") or set(cells[0]) <= {"-"}:
            continue
        table[Case(cells[0], cells[1])] = dict(zip(ROLES, cells[2:], strict=True))
    return table


def exempt() -> dict[str, str]:
    """Routes the doc lists under "Not in the table", with the reason."""
    found = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("- `") and "`: " in line:
            name, reason = line[3:].split("`: ", 1)
            found[name] = reason
    return found


class World:
    """The demo company with the people of each role and the objects the routes name."""

    def __init__(self):
        from api.models import ApiToken
        from core.models import Cycle
        from planning import services
        from planning.models import Finding

        call_command("load_demo", "--allow-production", stdout=io.StringIO())
        User = get_user_model()
        for group in Group.objects.all():
            group.user_set.clear()
        User.objects.create_user("rita")
        User.objects.create_user("lena").groups.add(
            Group.objects.get_or_create(name="Leadership")[0]
        )
        User.objects.create_user("otto").groups.add(
            Group.objects.get_or_create(name="Operations")[0]
        )
        self.users = {role: User.objects.get(username=name) for role, name in ROLE_USERS.items()}
        cycle = Cycle.objects.get(key="fy2027")
        services.review_run(cycle=cycle, today=dt.date(2027, 2, 20), trigger="command")
        # A finding about messaging-mid-q1, so it concerns both First 90 Days and Product-led
        # Growth; the demo's overlap finding (two memos, one of Product-led Growth) for the
        # overlap actions; a stage nobody covers.
        self.finding = (
            Finding.objects.filter(subjects__contains=["dependency:messaging-mid-q1"])
            .order_by("pk")
            .first()
        )
        self.blocker = self.finding
        self.overlap = Finding.objects.get(rule="similar_initiatives")
        self.gap = Finding.objects.filter(rule="unowned_stage").order_by("pk").first()
        from journeys.models import Moment

        self.moment = Moment.objects.select_related("stage__journey").first()
        from journeys.models import Touchpoint

        self.touchpoint = Touchpoint.objects.create(
            moment=self.moment, channel="email", function="Customer Success", message="Welcome"
        )
        self.token, _ = ApiToken.issue(user=self.users["member"], name="matrix")
        # Set-up: an invitation waiting to be used, and a segment.
        from core.models import Invitation
        from journeys.models import Segment

        now = dt.datetime.now(dt.UTC)
        self.invitation = Invitation.objects.create(
            email="newcomer@example.com",
            token_digest="0" * 64,
            sent_at=now,
            expires_at=now + dt.timedelta(days=7),
        )
        self.segment = Segment.objects.order_by("pk").first()
        # A milestone on that segment's map, for its routes.
        from journeys.models import Milestone

        self.milestone = Milestone.objects.create(
            segment=self.segment, key="matrix-milestone", name="Matrix", expected_day=7
        )

        # The member's comment on First 90 Days' plan, and an initiative of that squad its DRI
        # removed (so whoever may restore it can): for removing a comment and restoring.
        from planning import removals
        from squads.models import Comment, Initiative

        squad_key = "first-90-days"
        self.comment = Comment.objects.create(
            squad=self.squad(squad_key),
            section="desired_experience",
            author=self.users["member"],
            body="Day 1 reads well.",
        )
        dashboard = Initiative.objects.get(squad__key=squad_key, key="activation-dashboard")
        plan = removals.initiative_removal(dashboard)
        self.removal = removals.initiative_remove(
            initiative=dashboard, by=self.users["dri"], seen=plan.digest
        )
        # A company goal the First 90 Days objective serves, for the goals' routes.
        from squads import services as squad_services
        from squads.models import OKR

        self.goal = squad_services.goal_create(
            key="value-fast",
            values={
                "name": "Customers reach value fast",
                "description": "",
                "customer_success": "Customers reach measurable value within 90 days.",
                "starts_year": 2026,
                "ends_year": 2028,
                "owner": None,
            },
            by=self.users["admin"],
        )
        squad_services.okr_goals_set(
            okr=OKR.objects.get(squad__key=squad_key), goals=[self.goal], by=self.users["admin"]
        )
        # A Slack channel the First 90 Days DRI added for their squad, with one delivery.
        from webhooks.models import Delivery, Subscription

        self.subscription = Subscription.objects.create(
            name="#first-90-days",
            url="https://hooks.slack.example/services/T0/B0/x",
            format="slack",
            events=["dependency.declined"],
            squad=self.squad(squad_key),
            created_by=self.users["dri"],
        )
        self.delivery = Delivery.objects.create(
            subscription=self.subscription,
            uid="0" * 32,
            event_id="1" * 32,
            event="dependency.declined",
            summary="Declined",
            body="{}",
            format="slack",
        )
        self.kwargs = {
            "webhooks": {"pk": self.subscription.pk, "delivery": self.delivery.pk},
            "goals": {"key": self.goal.key},
            "squads": {
                "key": "first-90-days",
                "kr_key": "activation",
                "ikey": "assessment-tool",
                "section": "desired-experience",
                "username": "sam",
                "comment": self.comment.pk,
            },
            "journeys": {
                "key": self.moment.stage.journey.key,
                "stage_key": self.moment.stage.key,
                "pk": self.moment.pk,
                "touchpoint": self.touchpoint.pk,
            },
            "board": {"key": "messaging-mid-q1"},
            "api": {
                "key": "first-90-days",
                "kr_key": "activation",
                "squad": "first-90-days",
                "pk": self.finding.pk,
            },
            None: {
                "pk": self.finding.pk,
                "action": "acknowledge",
                "kind": "initiatives",
                "key": "fy2027",
            },
        }

    @staticmethod
    def squad(key: str):
        from squads.models import Squad

        return Squad.objects.get(key=key)

    def url(self, route: str) -> str:
        namespace, _, name = route.rpartition(":")
        pool = self.kwargs.get(namespace or None, {})
        if route == "api_token_revoke":
            return reverse(route, kwargs={"pk": self.token.pk})
        if route.startswith("api:") and ("dependency" in route):
            pool = {**pool, "key": "messaging-mid-q1"}
        if route in ("api:cycle_detail",):
            pool = {**pool, "key": "fy2027"}
        if route in ("api:journey_detail", "api:journey_stages"):
            pool = {**pool, "key": self.moment.stage.journey.key}
        if route.startswith("api:goal_"):
            pool = {**pool, "key": self.goal.key}
        if route == "api:segment_detail":
            pool = {**pool, "key": self.segment.key}
        if route in ("api:initiative_detail", "api:initiative_update"):
            pool = {**pool, "key": "assessment-tool"}
        if route == "finding_dependency":
            pool = {**pool, "pk": self.blocker.pk, "action": "accept"}
        if route == "finding_stage":
            pool = {**pool, "pk": self.gap.pk}
        if route == "removal_restore":
            pool = {"pk": self.removal.pk}
        if route in ("finding_lead", "finding_not_same", "finding_related"):
            pool = {**pool, "pk": self.overlap.pk}
        if route.startswith("person"):
            # Jo, in no role of the table: each role acts on someone else's account.
            pool = {"username": "jo"}
        if route.startswith("invitation_"):
            pool = {"pk": self.invitation.pk}
        if route.startswith("segment_"):
            pool = {"key": self.segment.key}
        if route.startswith("journeys:milestone") or route.startswith("api:milestone"):
            pool = {"key": self.segment.key, "milestone": self.milestone.key}
        if route == "api:segment_milestones":
            pool = {"key": self.segment.key}
        if route.startswith("api:webhook_"):
            pool = {"pk": self.subscription.pk, "delivery": self.delivery.pk}
        # The route takes some of the pool's arguments: the first set that reverses.
        for attempt in _kwarg_sets(pool):
            try:
                return reverse(route, kwargs=attempt)
            except Exception:  # noqa: BLE001, S112 - try the next set of arguments
                continue
        raise LookupError(f"No arguments from {pool} reverse {route}")


def _kwarg_sets(pool: dict) -> list[dict]:
    """Every subset of the pool, largest first: reverse() wants exactly the route's kwargs."""
    names = sorted(pool)
    sets = []
    for mask in range(1 << len(names)):
        sets.append({n: pool[n] for i, n in enumerate(names) if mask >> i & 1})
    return sorted(sets, key=len, reverse=True)


# Bodies for the writes that need one to get past validation to the permission check, and
# for the API (whose bodies are validated before the view runs).
JSON_BODIES = {
    "api:check_in_create": {"value": "41", "confidence": 6},
    "api:initiative_create": {
        "key": "matrix",
        "title": "Matrix",
        "function": "Product",
        "starts": "2027-01-01",
        "ends": "2027-02-01",
    },
    "api:initiative_update": {
        "title": "Assessment",
        "function": "Product",
        "starts": "2027-01-04",
        "ends": "2027-03-31",
        "counter_measure": "Interview new customers monthly.",
    },
    "api:dependency_create": {
        "needed_by": "first-90-days",
        "provided_by": "cs-onboarding",
        "what": "Two CSMs",
        "due": "2027-03-01",
    },
    "api:dependency_answer": {"action": "accept"},
    "api:finding_state": {"action": "acknowledge"},
    "api:milestone_readings_create": [{"milestone": "matrix-milestone", "actual_days": 5}],
    "api:goal_create": {
        "key": "matrix",
        "name": "Matrix",
        "customer_success": "Customers reach value.",
        "starts_year": 2027,
        "ends_year": 2028,
    },
    "api:goal_update": {
        "name": "Customers reach value fast",
        "customer_success": "Customers reach measurable value within 90 days.",
        "starts_year": 2026,
        "ends_year": 2028,
    },
    "api:objective_goals_update": {"goals": ["trusted-brand"]},
    # A Slack channel for First 90 Days: its DRI and who manages webhooks may add or make one.
    "api:webhook_create": {
        "name": "#matrix",
        "url": "https://hooks.slack.example/services/T0/B0/y",
        "format": "slack",
        "events": ["dependency.declined"],
        "squad": "first-90-days",
    },
    "api:webhook_update": {
        "name": "#first-90-days",
        "url": "https://hooks.slack.example/services/T0/B0/x",
        "format": "slack",
        "events": ["dependency.declined", "dependency.at_risk"],
        "squad": "first-90-days",
    },
}
FORM_BODIES = {
    "cycle_select": {"cycle": "fy2027"},
    "board:respond": {"action": "accept"},
    "squads:comment_edit": {"body": "Day 1 reads well, mostly."},
    "squads:comment_resolve": {"resolved": "yes"},
    "finding_dependency": {"was": "requested"},
    "journeys:stage_move": {"direction": "right"},
    "squads:initiative_move": {"direction": "down"},
    "goals:move": {"direction": "down"},
}


def api_method(route: str) -> str | None:
    """The one method an API operation answers; None for routes outside the API."""
    if not route.startswith("api:"):
        return None
    if route.endswith("_update"):
        return "PUT"
    if route.endswith("_delete"):
        return "DELETE"
    if route.endswith(("_create", "_answer", "_state")):
        return "POST"
    return "GET"


def outcome(response) -> str:
    status = response.status_code
    if status >= 500 or status == 405:
        return f"error {status}"
    if status == 401 or (status == 302 and response["Location"].startswith(LOGIN_PATH)):
        return "login"
    if status in (403, 404):
        return "no"
    return "yes"


class _Undo(Exception):
    """Leaves the atomic block, rolling back whatever the request wrote."""

    def __init__(self, response):
        super().__init__()
        self.response = response


def _request(client: Client, case: Case, url: str):
    if case.method == "GET":
        return client.get(url)
    if case.method == "DELETE":
        return client.delete(url)
    if case.route in JSON_BODIES:
        method = client.put if case.method == "PUT" else client.post
        return method(url, json.dumps(JSON_BODIES[case.route]), content_type="application/json")
    return client.post(url, FORM_BODIES.get(case.route, {}))


def observe(world: World, case: Case, role: str) -> str:
    """What happens when this role makes this request; nothing it does is kept."""
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    url = world.url(case.route)
    try:
        with transaction.atomic():
            response = _request(client, case, url)
            raise _Undo(response)
    except _Undo as undo:
        response = undo.response
    result = outcome(response)
    if role == "anonymous" and result == "yes":
        return "open"
    return result
