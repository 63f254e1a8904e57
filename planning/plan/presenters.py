"""What the plan page shows, ready for its template: view models of its sections and
initiatives, and the contexts of the page and of each of its parts."""

from __future__ import annotations

import functools
import hashlib
import html
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, F, Func, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Left
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import SafeData, SafeString, mark_safe

from core import access, pagecache, versioning
from core.cycles import all_cycles
from core.http import AuthedRequest
from core.people import display_name
from core.removal import gone_or_404
from dependencies.models import Dependency
from journeys.models import Milestone, Moment, Stage
from planning import similar_work
from planning.models import OverlapVerdict
from planning.overlap_verdicts import VerdictFacts, standing_pairs, text_of
from planning.season import selectors as season_selectors
from squads import conflicts, cowriting, services
from squads.charts import BalancePicture, balance_picture
from squads.forms import (
    InitiativeForm,
    PlanSectionForm,
    plain_number,
)
from squads.models import OKR, Comment, Goal, Initiative, Plan, Squad
from squads.outcomes import served_segments
from squads.views import served_goals

User = get_user_model()

SECTIONS = {
    # URL name: (field, title)
    "current-experience": ("current_experience", "Current customer experience"),
    "desired-experience": ("desired_experience", "Desired customer experience"),
    "success-metrics": ("success_metrics", "Shared success metrics"),
}
NOT_DOING = "not-doing"
PLAN_READ_ONLY = "Only the squad's members can change its plan."

_MOMENT_RE = re.compile(
    r"(?:^|(?<=\s))((?:hour|day|week|month|quarter|year)s?\s+\d{1,4})\s*[:\u2013\u2014-]\s+",
    re.IGNORECASE,
)


def moments_in(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split "Day 1: … Week 2: …" into an introduction and (moment, text) pairs."""
    parts = _MOMENT_RE.split(text)
    if len(parts) < 3:
        return text, []
    intro, rest = parts[0].strip(), parts[1:]
    pairs = [(rest[i].strip(), rest[i + 1].strip()) for i in range(0, len(rest) - 1, 2)]
    return intro, [(when[:1].upper() + when[1:], body) for when, body in pairs]


@dataclass
class SectionView:
    slug: str
    field: str
    title: str
    number: int
    text: str
    version: int = 1
    form: PlanSectionForm | None = None
    intro: str = ""
    moments: list[tuple[str, str]] = field(default_factory=list)
    conflict: conflicts.TextConflict | None = None
    comments: list[Comment] = field(default_factory=list)

    @property
    def edit_version(self) -> int:
        """The version a save from this form is made against: the one the editor started
        from, through any number of invalid posts, or the one a conflict showed them."""
        return versioning.edit_version(self.conflict, self.form, self.version)

    @property
    def live_version(self) -> str:
        """What a poll compares to decide whether this part needs redrawing."""
        return f"{self.version}.{thread_mark(self.comments)}"


def section_view(slug: str, plan: Plan, form=None, *, conflict=None, comments=None) -> SectionView:
    name, title = SECTIONS[slug]
    number = {"current-experience": 1, "desired-experience": 2, "success-metrics": 5}[slug]
    text = getattr(plan, name)
    view = SectionView(
        slug=slug,
        field=name,
        title=title,
        number=number,
        text=text,
        version=getattr(plan, f"{name}_version"),
        form=form,
        conflict=conflict,
        comments=comments if comments is not None else Thread(),
    )
    if name == "desired_experience":
        view.intro, view.moments = moments_in(text)
    return view


class Thread(list):
    """A thread's comments, oldest first, those removed included (drawn as "Comment
    removed"), with what the thread shows of them: how many are live, whether it is
    resolved and by whom, and a mark that changes with any of that (live polls compare it)."""

    @property
    def live(self) -> list[Comment]:
        return [c for c in self if c.removal_id is None]

    @property
    def count(self) -> int:
        return len(self.live)

    @property
    def resolution(self) -> Comment | None:
        """The latest live comment when every live one is resolved (it says who and when)."""
        live = self.live
        if live and all(c.resolved_at is not None for c in live):
            return live[-1]
        return None

    @property
    def mark(self) -> str:
        return thread_mark(self)


def thread_mark(comments) -> str:
    """Changes whenever a comment is added, edited, removed or restored, or the thread is
    resolved or opened again."""
    if not comments:
        return "0"
    seen = ",".join(
        f"{c.pk}:{getattr(c, 'version', 1)}:{c.removal_id is None}:{c.resolved_at is None}"
        for c in comments
    )
    return f"{len(comments)}-{hashlib.sha256(seen.encode()).hexdigest()[:8]}"


def comment_threads(squad: Squad, *, section: str = "", initiative_id: int | None = None) -> dict:
    """Comment threads by part: "section:<field>" and "initiative:<id>", oldest first, each a
    Thread. A comment removed on its own stays in its thread as "Comment removed"."""
    # Removed ones included: a thread on the page is a section's, or a live initiative's,
    # so its removed comments were removed on their own (with the squad, nothing is shown).
    comments = Comment.everything.filter(squad=squad).select_related(
        "author__profile", "resolved_by__profile"
    )
    if section:
        comments = comments.filter(section=section)
    elif initiative_id is not None:
        comments = comments.filter(initiative_id=initiative_id)
    threads: dict[str, Thread] = {}
    for comment in comments.order_by("created_at", "id"):
        # Its "Edit" and "Remove" links show to its author only, even in a rendering cached
        # for many.
        comment.own = pagecache.own_marker(comment.author_id)
        part = (
            f"initiative:{comment.initiative_id}"
            if comment.initiative_id
            else f"section:{comment.section}"
        )
        threads.setdefault(part, Thread()).append(comment)
    return threads


def plan_for(squad: Squad) -> Plan:
    # Reading never writes: a squad without a plan row shows an empty plan.
    return Plan.objects.select_related("approved_by__profile").filter(squad=squad).first() or Plan(
        squad=squad
    )


@dataclass(frozen=True)
class Addresses:
    """The prefixes of the addresses a plan page links to, reversed once per page rather
    than once per initiative: "/squads/<key>/plan/", "/journeys/", "/segments/"."""

    plan: str
    journeys: str
    segments: str


def addresses(squad: Squad) -> Addresses:
    found = getattr(squad, "_plan_addresses", None)
    if found is None:
        found = Addresses(
            plan=reverse("squads:plan", args=[squad.key]),
            journeys=reverse("journeys:detail", args=["-"])[:-2],
            segments=reverse("journeys:milestones", args=["-"])[: -len("-/milestones/")],
        )
        squad._plan_addresses = found
    return found


def _day_month(day) -> str:
    """A date as the template's date:"j M" writes it."""
    return f"{day.day} {day:%b}"


def _escape(value) -> str:
    """What the template's autoescaping writes for `value` (django.utils.html.escape is the
    standard library's html.escape), without making a SafeString of every piece."""
    if isinstance(value, SafeData):
        return str(value)
    return html.escape(str(value))


@dataclass
class InitiativeCard:
    item: Initiative
    cycle_days: int
    cycle_start: object
    form: InitiativeForm | None = None
    conflict: conflicts.RecordConflict | None = None
    comments: list[Comment] = field(default_factory=list)
    links: Addresses | None = None

    @property
    def url(self) -> str:
        """The initiative's own address: its editor, removal and comments are under it."""
        return f"{self.links.plan}initiatives/{self.item.key}/"

    @property
    def stage_name(self) -> str | None:
        """The name of the stage it serves; None for none. From the names initiatives_of
        reads with the initiative, or else from its stage."""
        if hasattr(self.item, "stage_name"):
            return self.item.stage_name
        return self.item.stage.name if self.item.stage_id else None

    @property
    def segment_name(self) -> str | None:
        if hasattr(self.item, "segment_name"):
            return self.item.segment_name
        return self.item.segment.name if self.item.segment_id else None

    @property
    def stage_url(self) -> str:
        if not self.item.stage_id:
            return ""
        journey = getattr(self.item, "stage_journey_key", None)
        if journey is None:
            journey = self.item.stage.journey.key
        return f"{self.links.journeys}{journey}/"

    @property
    def served(self) -> list[tuple[str, str]]:
        """The milestones it serves: (address, what the link says)."""
        found = getattr(self.item, "milestones_served", None)
        return [
            (
                f"{self.links.segments}{m.segment.key}/milestones/#milestone-{m.key}",
                f"{m.name} (day {m.expected_day}, {m.segment.name})",
            )
            for m in (self.item.milestones.all() if found is None else found)
        ]

    @property
    def dates(self) -> str:
        """ "3 Feb – 30 Jun 2027", as the template's date filters wrote it."""
        return (
            f"{_day_month(self.item.starts)} – {_day_month(self.item.ends)} {self.item.ends.year}"
        )

    @property
    def edit_version(self) -> int:
        return versioning.edit_version(self.conflict, self.form, self.item.version)

    @property
    def live_version(self) -> str:
        return f"{self.item.version}.{thread_mark(self.comments)}"

    @property
    def lean(self) -> services.Lean | None:
        return services.initiative_lean(self.item)

    @property
    def needs_counter_measure(self) -> bool:
        return self.lean is not None and not self.item.counter_measure.strip()

    @property
    def lean_prompt(self) -> str:
        return self.lean.prompt("initiative") if self.lean else ""

    @property
    def picture(self) -> BalancePicture | None:
        if not self.item.has_impact:
            return None
        return balance_picture(
            {
                "team": self.item.impact_team,
                "business": self.item.impact_business,
                "customer": self.item.impact_customer,
            }
        )

    @property
    def span(self) -> tuple[float, float]:
        """Where the initiative sits in its cycle, as x and width out of 100."""
        start = (self.item.starts - self.cycle_start).days
        end = (self.item.ends - self.cycle_start).days + 1
        days = max(self.cycle_days, 1)
        x0 = min(max(start / days, 0), 1) * 100
        x1 = min(max(end / days, 0), 1) * 100
        return round(x0, 2), round(max(x1 - x0, 1.5), 2)

    @property
    def span_x(self) -> float:
        return self.span[0]

    @property
    def span_width(self) -> float:
        return self.span[1]

    @property
    def headcount(self) -> str:
        return plain_number(self.item.headcount)

    def body_html(self, *, view: str, can_edit: bool, csrf: str = "") -> SafeString:
        """The card as read (its editor is in the template): what, when, how many, its
        status, its balance and its actions, written in Python rather than by the template
        engine, which took most of the page's drawing time with 30 initiatives. The markup
        is the template's as it was, every value escaped the same way."""
        item, e = self.item, _escape
        key, title = e(item.key), e(item.title)
        out = [
            '        <div class="initiative__main">\n'
            f'          <h4 class="initiative__title">{title}</h4>\n'
            '          <p class="presence-badge no-print" '
            f'data-presence-for="initiative-{key}" hidden></p>\n          '
        ]
        if item.description:
            out.append(f'<p class="initiative__desc">{e(item.description)}</p>')
        out.append('\n          <p class="initiative__tags">\n            ')
        if view == "timeline":
            out.append(f'<span class="pill pill--function">{e(item.function)}</span>')
        out.append("\n            ")
        if item.stage_id:
            out.append(f'<a class="pill" href="{e(self.stage_url)}">{e(self.stage_name)}</a>')
        out.append("\n            ")
        if item.segment_id:
            out.append(f'<span class="pill">{e(self.segment_name)}</span>')
        out.append("\n          </p>\n          ")
        served = self.served
        if served:
            links = "; ".join(f'<a href="{e(url)}">{e(text)}</a>' for url, text in served)
            out.append(
                '\n          <p class="initiative__milestones small">'
                f"Serves {links}</p>\n          "
            )
        out.append("\n          ")
        if item.counter_measure:
            out.append(
                '\n          <p class="initiative__cm"><span class="initiative__cm-label">'
                f"Counter-measure</span> {e(item.counter_measure)}</p>\n          "
            )
        elif self.needs_counter_measure:
            out.append(f'\n          <p class="ask">{e(self.lean_prompt)}</p>\n          ')
        x, width = self.span
        headcount = self.headcount
        picture = self.picture
        out.append(
            "\n        </div>\n"
            '        <div class="initiative__when">\n'
            f'          <span class="initiative__dates">{e(self.dates)}</span>\n'
            "          \n"
            '          <svg class="span" viewBox="0 0 100 6" preserveAspectRatio="none" '
            'width="100%" height="6" aria-hidden="true">\n'
            '            <rect x="0" y="0" width="100" height="6" class="bar-track"/>\n'
            f'            <rect x="{localize(x, use_l10n=False)}" y="0" '
            f'width="{localize(width, use_l10n=False)}" height="6" class="bar-fill"/>\n'
            "          </svg>\n"
            "          \n"
            "        </div>\n"
            f'        <div class="initiative__hc"><strong>{e(headcount)}</strong> '
            f"<span>{pluralize(headcount, 'person,people')}</span></div>\n"
            f'        <div class="initiative__status"><span class="badge badge--{e(item.status)}">'
            f"{e(item.get_status_display())}</span></div>\n"
            '        <div class="initiative__balance">\n          '
        )
        if picture:
            out.append(render_to_string("squads/_balance.html", {"picture": picture}))
        else:
            out.append('<span class="muted small">Impact not rated</span>')
        out.append(
            '\n        </div>\n        <div class="initiative__actions no-print">\n          '
        )
        if can_edit:
            url, view_ = e(self.url), e(view)
            out.append(
                f'\n          <a class="btn btn-small" data-edit href="{url}edit/?view={view_}"\n'
                f'             hx-get="{url}edit/?view={view_}" hx-target="#initiative-{key}" '
                'hx-swap="outerHTML"\n'
                f'             aria-label="Edit {title}">Edit</a>\n'
                f'          <a class="btn btn-small btn-danger" href="{url}remove/"\n'
                f'             aria-label="Remove {title}">Remove</a>\n          '
            )
            if view != "timeline":
                out.append(self._move_html(url=url, title=title, csrf=csrf))
        out.append("\n        </div>")
        return mark_safe("".join(out))  # noqa: S308 - every value above is escaped

    @staticmethod
    def _move_html(*, url: str, title: str, csrf: str) -> str:
        """Up and down among its function's initiatives (a form, so it works without
        scripts), and the handle static/js/reorder.js shows for dragging and the keyboard."""
        token = (
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{_escape(csrf)}">'
            if csrf and csrf != "NOTPROVIDED"
            else ""
        )
        return (
            '<button type="button" class="btn btn-small reorder-handle" data-reorder-handle '
            f'hidden aria-label="Reorder {title}" title="Drag, or press Space, to move">'
            '<span class="reorder-handle__grip" aria-hidden="true">&#8942;&#8942;</span>'
            "</button>\n          "
            '<form class="inline-form initiative__move" data-reorder-move method="post" '
            f'action="{url}move/" '
            f'hx-post="{url}move/" hx-target="#initiatives" hx-swap="outerHTML">{token}'
            '<input type="hidden" name="view" value="function">'
            '<button type="submit" class="btn btn-small move-up" name="direction" value="up" '
            f'aria-label="Move {title} up" title="Move up"><span aria-hidden="true">&uarr;</span>'
            "</button>"
            '<button type="submit" class="btn btn-small move-down" name="direction" value="down" '
            f'aria-label="Move {title} down" title="Move down">'
            '<span aria-hidden="true">&darr;</span></button></form>'
        )


@dataclass
class FunctionGroup:
    function: str
    cards: list[InitiativeCard]

    @property
    def headcount(self) -> str:
        total = sum(
            (c.item.headcount for c in self.cards if c.item.status != "dropped"), Decimal(0)
        )
        return plain_number(total)


VIEWS = {"function": "By function", "timeline": "By date"}


def arrangement(request: AuthedRequest, view: str | None = None) -> str:
    """How the initiatives are arranged: asked for explicitly, or carried by the request."""
    posted = request.POST.get("view") if request.method == "POST" else None
    for candidate in (view, posted, request.GET.get("view")):
        if candidate in VIEWS:
            return candidate
    return "function"


def initiatives_of(squad: Squad) -> list[Initiative]:
    return list(
        Initiative.objects.filter(squad=squad)
        # The names a card shows, not three model instances an initiative.
        .annotate(
            stage_name=F("stage__name"),
            stage_journey_key=F("stage__journey__key"),
            segment_name=F("segment__name"),
        )
        .prefetch_related(
            Prefetch(
                "milestones",
                queryset=Milestone.objects.select_related("segment").order_by(
                    "expected_day", "position", "id"
                ),
                # A list, not a manager made per card: InitiativeCard.served reads it.
                to_attr="milestones_served",
            )
        )
        .order_by(*services.INITIATIVE_ORDER)
    )


def initiative_card(
    squad: Squad, initiative: Initiative, form=None, *, conflict=None, comments=None
) -> InitiativeCard:
    cycle = squad.cycle
    if comments is None:
        comments = comment_threads(squad, initiative_id=initiative.pk).get(
            f"initiative:{initiative.pk}", Thread()
        )
    return InitiativeCard(
        item=initiative,
        cycle_days=(cycle.ends - cycle.starts).days + 1,
        cycle_start=cycle.starts,
        form=form,
        conflict=conflict,
        comments=comments,
        links=addresses(squad),
    )


def list_version(cards: list[InitiativeCard]) -> str:
    """Changes whenever an initiative is added, removed, saved, moved or commented on."""
    parts = sorted(f"{c.item.pk}:{c.live_version}:{c.item.position}" for c in cards)
    return hashlib.sha256(",".join(parts).encode()).hexdigest()[:12]


def initiatives_context(
    request: AuthedRequest,
    squad: Squad,
    *,
    initiatives: list[Initiative] | None = None,
    editing: Initiative | None = None,
    edit_form=None,
    new_form=None,
    view: str | None = None,
    threads: dict | None = None,
    edit_conflict=None,
) -> dict:
    initiatives = initiatives_of(squad) if initiatives is None else initiatives
    view = arrangement(request, view)
    threads = comment_threads(squad) if threads is None else threads
    cards = [
        initiative_card(
            squad,
            i,
            edit_form if editing and i.pk == editing.pk else None,
            conflict=edit_conflict if editing and i.pk == editing.pk else None,
            comments=threads.get(f"initiative:{i.pk}", Thread()),
        )
        for i in initiatives
    ]
    if view == "timeline":
        groups = [FunctionGroup("", sorted(cards, key=lambda c: (c.item.starts, c.item.pk)))]
    else:
        grouped: dict[str, list[InitiativeCard]] = {}
        for card in cards:
            grouped.setdefault(card.item.function, []).append(card)
        groups = [FunctionGroup(name, grouped[name]) for name in sorted(grouped, key=str.casefold)]
    balance = services.plan_balance(initiatives)
    scale = max([2, *(abs(v) for v in balance.sums.values())])
    return {
        "squad": squad,
        "groups": groups,
        "initiatives_version": list_version(cards),
        "initiative_total": len(initiatives),
        "view": view,
        "views": VIEWS,
        "new_initiative_form": new_form,
        "balance": balance,
        "balance_picture": balance_picture(balance.sums, scale) if balance.rated else None,
        **access.squad_flags(request, squad),
    }


def dependency_board_link(**params: str) -> str:
    url = reverse("board:board")
    return f"{url}?{urlencode(params)}" if params else url


def dependency_create_link(squad: Squad) -> str:
    url = reverse("board:create")
    plan_url = reverse("squads:plan", args=[squad.key])
    return f"{url}?{urlencode({'from': squad.key, 'next': plan_url})}"


# Each list on the plan page shows this many: the open ones first, soonest due first. The
# board holds every one, with filters and pages; the page links to it for the rest.
PLAN_DEPENDENCIES_SHOWN = 25


_STATUS_LABELS = dict(Dependency.Status.choices)
_CLOSED = ("done", "declined")

# The columns a row of either list shows, read as values: no model instance, no lookup a
# row. The other side's squad is the one stored on the row (needer, provider).
_ROW_COLUMNS = (
    "id",
    "version",
    "what",
    "blocking",
    "status",
    "status_reason",
    "due",
    "owner_id",
    "owner__username",
    "owner__profile__display_name",
)
_NEEDS_COLUMNS = (
    "from_initiative_id",
    "from_initiative__title",
    "to_squad_id",
    "to_initiative_id",
    "to_initiative__title",
    "to_initiative__removal_id",
    "to_function",
    "provider__key",
    "provider__name",
    "provider__removal_id",
)
_PROVIDES_COLUMNS = (
    "from_squad_id",
    "from_initiative_id",
    "from_initiative__title",
    "to_initiative_id",
    "to_initiative__title",
    "needer__key",
    "needer__name",
)


# Stands for the squad while a list's query is compiled, once a process.
_ANY_SQUAD = -720_451


@functools.cache
def _dependency_list_sql(side: str) -> tuple[str, tuple]:
    """The SQL of one list ("needer" or "provider"): the first PLAN_DEPENDENCIES_SHOWN of the
    squad's dependencies on that side (open ones first, soonest due first) with the columns
    shown, and how many there are. The rows shown are picked from the dependency table alone
    (its index on squad, status and due) before anything is joined; the count is a subquery
    run once. Compiled by the ORM once, not on every request (it took longer than the query)."""
    qs = Dependency.objects.filter(**{f"{side}_id": _ANY_SQUAD})
    closed = Case(When(status__in=_CLOSED, then=1), default=0)
    shown = qs.alias(closed=closed).order_by("closed", "due", "id").values("id")
    total = qs.order_by().values(one=Value(1)).annotate(n=Func(F("id"), function="COUNT"))
    columns = _NEEDS_COLUMNS if side == "needer" else _PROVIDES_COLUMNS
    query = (
        Dependency.objects.filter(id__in=shown[:PLAN_DEPENDENCIES_SHOWN])
        .alias(closed=closed)
        .annotate(total=Subquery(total.values("n")))
        .order_by("closed", "due", "id")
        .values(*_ROW_COLUMNS, *columns, "total")
    )
    return query.query.sql_with_params()


def dependency_list(squad: Squad, side: str, today) -> tuple[list[dict], int]:
    """The squad's dependencies on one side as plain rows, and how many there are."""
    sql, params = _dependency_list_sql(side)
    params = tuple(squad.pk if p == _ANY_SQUAD else p for p in params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]  # DB-API: the name first
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    total = rows[0]["total"] if rows else 0
    for row in rows:
        status, due = row["status"], row["due"]
        row["overdue"] = status not in _CLOSED and due < today
        row["status_label"] = _STATUS_LABELS.get(status, status)
        row["reason"] = row["status_reason"] if status in ("at_risk", "declined") else ""
        row["due_text"] = f"{due.day} {due:%b} {due.year}"
        row["owner"] = (
            (row["owner__profile__display_name"] or row["owner__username"])
            if row["owner_id"]
            else ""
        )
    return rows, total


def dependencies_context(squad: Squad) -> dict:
    today = timezone.localdate()
    needs, needs_total = dependency_list(squad, "needer", today)
    for row in needs:
        row["provider_removed"] = bool(
            row["to_initiative__removal_id"]
            or ((row["to_squad_id"] or row["to_initiative_id"]) and row["provider__removal_id"])
        )
    provides, provides_total = dependency_list(squad, "provider", today)
    seen = ",".join(f"{d['id']}:{d['version']}:{d['overdue']}" for d in (*needs, *provides))
    seen += f";{needs_total};{provides_total}"
    return {
        "dependencies_version": hashlib.sha256(seen.encode()).hexdigest()[:12],
        "needs": needs,
        "needs_total": needs_total,
        "provides": provides,
        "provides_total": provides_total,
        "board_needs_url": dependency_board_link(**{"from": squad.key}),
        "board_provides_url": dependency_board_link(to=squad.key),
        "board_url": dependency_board_link(),
    }


def journey_moments(squad: Squad) -> list[Stage]:
    return list(
        Stage.objects.filter(squadstage__squad=squad)
        .select_related("journey")
        .prefetch_related(Prefetch("moments", queryset=Moment.objects.order_by("offset_days")))
        .order_by("journey_id", "position", "id")
    )


def _dri_name(squad: Squad) -> str:
    """The DRI's name in one query, not two (the person, then their profile)."""
    if Squad.dri.is_cached(squad):
        return display_name(squad.dri)
    name, username = User.objects.filter(pk=squad.dri_id).values_list(
        "profile__display_name", "username"
    ).first() or ("", "")
    return (name or "").strip() or username


def plan_context(
    request: AuthedRequest,
    squad: Squad,
    *,
    section_forms: dict[str, PlanSectionForm] | None = None,
    not_doing_form=None,
    editing: Initiative | None = None,
    initiative_form=None,
    new_initiative_form=None,
    initiative_conflict=None,
    section_conflicts: dict | None = None,
    not_doing_conflict=None,
    live: dict | None = None,
) -> dict:
    # The stamp first: a change saved while the page is drawn shows at the first poll.
    live = live or live_context(request, squad)
    if not Squad.cycle.is_cached(squad):
        # The cycle from the cycles the navigation reads anyway (core.cycles), not a query.
        found = [c for c in all_cycles(request) if c.pk == squad.cycle_id]
        if found:
            squad.cycle = found[0]
    plan = plan_for(squad)
    section_forms = section_forms or {}
    section_conflicts = section_conflicts or {}
    threads = comment_threads(squad)
    sections = {
        SECTIONS[slug][0]: section_view(
            slug,
            plan,
            section_forms.get(slug),
            conflict=section_conflicts.get(slug),
            comments=threads.get(f"section:{SECTIONS[slug][0]}", Thread()),
        )
        for slug in SECTIONS
    }
    actor = access.actor_for(request)
    context = {
        **live,
        "squad": squad,
        "plan": plan,
        "can_approve": access.can_approve_plan(actor, squad),
        "dri_name": _dri_name(squad),
        "drafts_restricted": squad.cycle.restrict_drafts,
        "sections": sections,
        "not_doing_conflict": not_doing_conflict,
        "not_doing_comments": threads.get("section:not_doing", Thread()),
        # The objective and the goals it serves: the page shows no key result.
        "okr": OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id)
        .prefetch_related(served_goals())
        .first(),
        # Asked only when the objective serves no goal (squads/_serves.html): the template
        # calls it then, and a plan whose objective serves goals costs no query for it.
        "has_goals": Goal.objects.exists,
        "not_doing_form": not_doing_form,
        "stages": journey_moments(squad),
        "served_segments": served_segments(squad),
        "add_dependency_url": dependency_create_link(squad),
        # The other squads' plans are "<squads_url><key>/plan/": one reverse, not one a row.
        "squads_url": reverse("squads:list"),
        "can_add_dependency": access.can_create_dependency(actor, squad),
        "nav": "squads",
        # What moved since the cycle was committed (planning/season/): None before that.
        "since_commit": season_selectors.squad_drift(squad),
        **dependencies_context(squad),
        **initiatives_context(
            request,
            squad,
            editing=editing,
            edit_form=initiative_form,
            new_form=new_initiative_form,
            threads=threads,
            edit_conflict=initiative_conflict,
        ),
    }
    return context


def live_context(request: AuthedRequest, squad: Squad, revision: int | None = None) -> dict:
    """What the page's poller needs: where to ask, with what token, from which stamp
    (`revision`, when the caller has read it already)."""
    if revision is None:
        revision = cowriting.stamp(squad.pk).revision
    token = cowriting.poll_token(user_id=request.user.pk, squad_id=squad.pk)
    return {
        "live_url": reverse("squads:plan_live", args=[squad.key]) + "?" + urlencode({"t": token}),
        # Only the revision: the first poll then brings who is editing what.
        "live_etag": f"{revision}.",
        "presence_url": reverse("squads:plan_presence", args=[squad.key]),
        "history_url": reverse("squads:plan_history", args=[squad.key]),
    }


def section_template_and_context(
    request: AuthedRequest, squad: Squad, slug: str, form=None, conflict=None, plan=None
) -> tuple[str, dict]:
    """`plan`: the plan as just saved, when the caller has it."""
    plan = plan or plan_for(squad)
    if slug == NOT_DOING:
        threads = comment_threads(squad, section="not_doing")
        context = {
            "squad": squad,
            "plan": plan,
            "not_doing_form": form,
            "not_doing_conflict": conflict,
            "not_doing_comments": threads.get("section:not_doing", Thread()),
        }
        template = "squads/plan.html#not_doing"
    else:
        name = SECTIONS[slug][0]
        threads = comment_threads(squad, section=name)
        section = section_view(
            slug, plan, form, conflict=conflict, comments=threads.get(f"section:{name}", Thread())
        )
        context = {"squad": squad, "section": section}
        if slug == "desired-experience":
            context["stages"] = journey_moments(squad)
        template = "squads/plan.html#section"
    context.update(access.squad_flags(request, squad))
    return template, context


def initiative_or_404(squad: Squad, ikey: str) -> Initiative:
    """The live initiative; 410 when it was removed (core.removal.Gone), else 404."""
    found = (
        Initiative.objects.select_related("stage__journey", "segment")
        .filter(squad=squad, key=ikey)
        .first()
    )
    if found is None:
        gone_or_404(Initiative.everything, "initiative", squad=squad, key=ikey)
    return found


# Similar work in other squads, shown in the initiative editors while a person writes.
# The candidates are the cycle's initiatives of other squads, at most this many (the most
# recently changed): a cycle larger than that is compared with its liveliest part.
SIMILAR_WORK_CANDIDATES = 3000


@dataclass(frozen=True)
class SimilarWork:
    title: str
    squad_name: str
    dri: str
    url: str
    level: str  # similar_work.VERY_SIMILAR or SIMILAR


def similar_work_for(
    request: AuthedRequest,
    squad: Squad,
    *,
    title: str,
    description: str,
    initiative: Initiative | None = None,
) -> list[SimilarWork]:
    """Initiatives of other squads in this squad's cycle, not dropped, in plans this person
    may read, that describe work like the draft; most alike first. Editing `initiative`,
    those it was judged with from an overlap finding are left out while the review leaves
    the pair out too: neither the draft nor the other text changed materially since."""
    if not similar_work.initiative_text(title, description):
        return []
    others = (
        Initiative.objects.filter(squad__cycle_id=squad.cycle_id)
        .exclude(squad_id=squad.pk)
        .exclude(status=Initiative.Status.DROPPED)
    )
    if initiative is not None:
        others = others.exclude(pk__in=_judged_with(initiative, title, description))
    rows = list(
        access.readable_initiatives(access.actor_for(request), others)
        .select_related("squad__dri__profile")
        .annotate(head=Left("description", similar_work.DRAFT_LIMIT))
        .defer("description", "counter_measure")
        .order_by("-updated_at", "-id")[:SIMILAR_WORK_CANDIDATES]
    )
    candidates = [(i, i.squad.key, i.title, i.head) for i in rows]
    return [
        SimilarWork(
            title=match.ref.title,
            squad_name=match.ref.squad.name,
            dri=display_name(match.ref.squad.dri),
            url=reverse("squads:plan", args=[match.ref.squad.key]) + f"#initiative-{match.ref.key}",
            level=match.level,
        )
        for match in similar_work.similar_to((squad.key, title, description), candidates)
    ]


def _judged_with(initiative: Initiative, title: str, description: str) -> set[int]:
    """The initiatives whose verdict with `initiative`, written as the draft says, stands."""
    verdicts = list(
        OverlapVerdict.objects.filter(Q(first=initiative) | Q(second=initiative)).select_related(
            "first", "second"
        )
    )
    facts = [
        VerdictFacts(
            first=str(v.first_id),
            second=str(v.second_id),
            verdict=v.verdict,
            first_text=text_of(v.first_title, v.first_description),
            second_text=text_of(v.second_title, v.second_description),
        )
        for v in verdicts
    ]
    texts = {
        str(other.pk): text_of(other.title, other.description)
        for v in verdicts
        for other in (v.first, v.second)
    }
    texts[str(initiative.pk)] = text_of(title, description)
    standing = standing_pairs(facts, texts)
    return {int(ref) for pair in standing for ref in pair} - {initiative.pk}
