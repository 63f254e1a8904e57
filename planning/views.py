from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import trigger_client_event

from core import access
from core.cycles import SESSION_KEY, current_cycle
from core.forms import QuickSelect
from core.http import AuthedRequest
from core.models import Cycle
from dependencies.models import Dependency
from journeys.models import Stage
from planning import finding_presenters, findings_services, services, tasks
from planning.models import SEVERITY_RANK, Finding, Notification, ReviewRun
from squads.models import Initiative, KeyResult, Squad


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return redirect("squads:list")


@require_POST
def cycle_select(request: HttpRequest) -> HttpResponse:
    cycle = get_object_or_404(Cycle, key=request.POST.get("cycle", ""))
    request.session[SESSION_KEY] = cycle.key
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return redirect(target)


class CycleSettingsForm(forms.ModelForm):
    class Meta:
        model = Cycle
        fields = ["restrict_drafts"]
        labels = {"restrict_drafts": "Keep draft plans to those working on them"}


@require_http_methods(["GET", "HEAD", "POST"])
def cycle_settings(request: HttpRequest, key: str) -> HttpResponse:
    """A cycle's settings, for leadership: whether draft plans are restricted."""
    cycle = get_object_or_404(Cycle, key=key)
    if not access.can_edit_cycle(access.actor_for(request)):
        raise PermissionDenied("Leadership changes a cycle's settings.")
    form = CycleSettingsForm(request.POST or None, instance=cycle)
    if request.method == "POST" and form.is_valid():
        form.save()
        if cycle.restrict_drafts:
            messages.success(
                request,
                f"Draft plans of {cycle.name} are now read only by their squads, leadership "
                "and operations.",
            )
        else:
            messages.success(request, f"Every plan of {cycle.name} is readable by everyone.")
        return redirect("cycle_settings", key=cycle.key)
    drafts = Squad.objects.filter(cycle=cycle).exclude(plan__approved_at__isnull=False).count()
    return render(
        request,
        "planning/cycle_settings.html",
        {"cycle": cycle, "form": form, "drafts": drafts, "nav": "squads"},
    )


# ---------------------------------------------------------------------------------------
# The review's findings: the inbox operations triages
# ---------------------------------------------------------------------------------------

FINDINGS_PAGE_SIZE = 50
READ_ONLY_TRIAGE = "Only operations, leadership and the DRIs concerned can triage this finding."
READ_ONLY_REVIEW = "Only operations and leadership can run the review."
LIVE = "live"
STATE_FILTERS = [
    (LIVE, "Needs attention"),
    *Finding.State.choices,
    ("all", "Any state"),
]
# What a person may do from each state: (action, label).
FINDING_ACTIONS = {
    "open": [("acknowledge", "Acknowledge"), ("resolve", "Resolve")],
    "acknowledged": [("resolve", "Resolve"), ("reopen", "Reopen")],
    "dismissed": [("reopen", "Reopen")],
    "resolved": [],
}
CAN_DISMISS = {"open", "acknowledged"}
RULE_LABELS = {
    "similar_initiatives": "Similar initiatives",
    "overdue": "Overdue dependency",
    "declined": "Declined dependency",
    "unaccepted": "Dependency not accepted in time",
    "late_provider": "Provider finishes too late",
    "needed_before_due": "Needed before it is due",
    "cycle": "Dependency loop",
    "over_capacity": "Function over capacity",
    "overcommitted_person": "Person in too many squads",
    "unowned_stage": "Journey stage nobody owns",
    "unmeasurable_key_result": "Key result that cannot be measured",
    "goal_without_objective": "Goal no objective serves",
    "objective_without_goal": "Objective that serves no goal",
    "moment_without_touchpoint": "Moment nobody speaks at",
    "competing_touchpoints": "Several teams speaking at one moment",
    "unaddressed_gap": "Customer gap no work is aimed at",
    "expansion_before_success": "Expansion before success",
}
# A request with no run started after this long is most likely without a worker.
REVIEW_STALLED_AFTER = dt.timedelta(minutes=2)
REVIEW_REQUEST_KEY = "throughline_review_requested"


class FindingFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "Any kind"), *Finding.Kind.choices]
    )
    severity = forms.ChoiceField(
        label="Severity", required=False, choices=[("", "Any severity"), *Finding.Severity.choices]
    )
    state = forms.ChoiceField(label="State", required=False, choices=STATE_FILTERS)
    squad = forms.ChoiceField(label="Squad", required=False, widget=QuickSelect)

    def __init__(self, data, *, squads: list[tuple[str, str]]) -> None:
        """`squads`: the cycle's squads as (key, name)."""
        super().__init__(data)
        self.fields["squad"].choices = [("", "Any squad"), *squads]

    def value(self, name: str) -> str:
        self.is_valid()
        return "" if name in self.errors else self.cleaned_data.get(name) or ""


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Why dismiss it?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "autofocus": True}),
        help_text="Required: what makes this acceptable. It stays dismissed until its "
        "subjects change.",
        error_messages={"required": "Say why this finding can be dismissed."},
    )


def card_ids(finding: Finding) -> str:
    """`auto_id` for a form inside a finding's card: the findings page holds many cards and
    its own filters (a "squad" field among them), so each form's ids name its finding, and
    every label stays tied to its own field."""
    return f"finding-{finding.pk}-%s"


def _safe_next(request: HttpRequest, url: str | None) -> str | None:
    if (
        url
        and url.startswith("/")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return None


def _findings_queryset(cycle: Cycle | None, form: FindingFilterForm, *, state: str = ""):
    """The findings the filters select; `state` in place of the form's state filter."""
    qs = Finding.objects.filter(cycle=cycle) if cycle else Finding.objects.none()
    kind, severity = form.value("kind"), form.value("severity")
    state, squad = state or form.value("state") or LIVE, form.value("squad")
    if kind:
        qs = qs.filter(kind=kind)
    if severity:
        qs = qs.filter(severity=severity)
    if state == LIVE:
        qs = qs.filter(state__in=[Finding.State.OPEN, Finding.State.ACKNOWLEDGED])
    elif state != "all":
        qs = qs.filter(state=state)
    if squad:
        qs = qs.concerning_squad(squad)
    return qs


@dataclass
class Subject:
    type: str
    label: str
    name: str
    url: str = ""


SUBJECT_TYPES = {
    "squad": "Squad",
    "dependency": "Dependency",
    "initiative": "Initiative",
    "stage": "Stage",
    "key_result": "Key result",
    "function": "Function",
    "person": "Person",
    "goal": "Goal",
    "segment": "Segment",
    "milestone": "Milestone",
    "moment": "Moment",
}


def _subjects_for(findings: list[Finding]) -> None:
    """Name and link each finding's subjects, with one query per kind of subject present."""
    wanted: dict[str, set[str]] = {t: set() for t in SUBJECT_TYPES}
    for finding in findings:
        for subject in finding.subjects or ():
            kind, _, value = subject.partition(":")
            if kind in wanted:
                wanted[kind].add(value)

    def split(refs: set[str]) -> tuple[set[str], set[str]]:
        pairs = [r.split("/", 1) for r in refs if "/" in r]
        return {a for a, _ in pairs}, {b for _, b in pairs}

    squads, deps, stages, initiatives, krs, people = {}, {}, {}, {}, {}, {}
    initiative_versions: dict[str, tuple[int, int]] = {}
    if wanted["squad"]:
        squads = dict(Squad.objects.filter(key__in=wanted["squad"]).values_list("key", "name"))
    if wanted["dependency"]:
        deps = dict(
            Dependency.objects.filter(key__in=wanted["dependency"]).values_list("key", "what")
        )
    if wanted["stage"]:
        journeys, keys = split(wanted["stage"])
        stages = {
            s.ref: s
            for s in Stage.objects.select_related("journey").filter(
                journey__key__in=journeys, key__in=keys
            )
        }
    if wanted["initiative"]:
        squad_keys, keys = split(wanted["initiative"])
        for sk, k, t, pk, version in Initiative.objects.filter(
            squad__key__in=squad_keys, key__in=keys
        ).values_list("squad__key", "key", "title", "pk", "version"):
            initiatives[f"{sk}/{k}"] = t
            initiative_versions[f"{sk}/{k}"] = (pk, version)
    if wanted["key_result"]:
        squad_keys, keys = split(wanted["key_result"])
        krs = {
            f"{sk}/{k}": n
            for sk, k, n in KeyResult.objects.filter(
                okr__squad__key__in=squad_keys, key__in=keys
            ).values_list("okr__squad__key", "key", "name")
        }
    goals, segments, milestones, moments = finding_presenters.outcome_subjects(wanted)
    if wanted["person"]:
        people = {
            u: n or u
            for u, n in get_user_model()
            .objects.filter(username__in=wanted["person"])
            .values_list("username", "profile__display_name")
        }

    # Each address is built from a prefix made once, not reversed per subject.
    board = reverse("board:board")
    plan_of = reverse("squads:plan", args=["-"])[:-7]  # "/squads/"
    journey_of = reverse("journeys:detail", args=["-"])[:-2]
    squad_of = reverse("squads:detail", args=["-"])[:-2]
    for finding in findings:
        found = []
        # What the initiatives it names were when shown: a decision about them posts these.
        finding.initiative_versions = [
            initiative_versions[s.split(":", 1)[1]]
            for s in finding.subjects or ()
            if s.startswith("initiative:") and s.split(":", 1)[1] in initiative_versions
        ]
        for subject in finding.subjects or ():
            kind, _, value = subject.partition(":")
            label = SUBJECT_TYPES.get(kind, kind.replace("_", " ").capitalize())
            if kind == "squad":
                url = f"{plan_of}{quote(value)}/plan/" if value in squads else ""
                found.append(Subject(kind, label, squads.get(value, value), url))
            elif kind == "dependency":
                url = f"{board}?{urlencode({'dep': value})}" if value in deps else ""
                found.append(Subject(kind, label, deps.get(value, value), url))
            elif kind == "stage":
                stage = stages.get(value)
                url = f"{journey_of}{quote(stage.journey.key)}/#stage-{stage.pk}" if stage else ""
                name = f"{stage.name} ({stage.journey.name})" if stage else value
                found.append(Subject(kind, label, name, url))
            elif kind == "initiative":
                squad_key, _, ikey = value.partition("/")
                url = (
                    f"{plan_of}{quote(squad_key)}/plan/#initiative-{ikey}"
                    if value in initiatives
                    else ""
                )
                found.append(Subject(kind, label, initiatives.get(value, value), url))
            elif kind == "key_result":
                squad_key, _, kr_key = value.partition("/")
                url = f"{squad_of}{quote(squad_key)}/#kr-{kr_key}" if value in krs else ""
                found.append(Subject(kind, label, krs.get(value, value), url))
            elif kind == "function":
                url = f"{board}?{urlencode({'to': f'function:{value}'})}"
                found.append(Subject(kind, label, value, url))
            elif kind == "person":
                found.append(Subject(kind, label, people.get(value, value)))
            elif kind == "goal":
                # The goal's own page (/goals/<key>/).
                url = f"/goals/{value}/" if value in goals else ""
                found.append(Subject(kind, label, goals.get(value, value), url))
            elif kind in ("segment", "milestone", "moment"):
                name, url = {"segment": segments, "milestone": milestones, "moment": moments}[
                    kind
                ].get(value, (value, ""))
                found.append(Subject(kind, label, name, url))
            else:
                found.append(Subject(kind, label, value))
        # The concrete subjects first; the squads concerned after them.
        found.sort(key=lambda s: s.type == "squad")
        for item in found:
            # What the card shows of a long name (the template's truncatechars:70, once).
            if len(item.name) > SUBJECT_NAME_SHOWN:
                item.name = Truncator(item.name).chars(SUBJECT_NAME_SHOWN)
        finding.subject_list = found
        finding.subjects_more = 0


def _day(at: dt.datetime) -> str:
    """The day of `at` where the person is, as the template's date:"j M Y" writes it."""
    day = localtime(at)
    return f"{day.day} {day:%b %Y}"


SEVERITY_LABELS = dict(Finding.Severity.choices)
KIND_LABELS = dict(Finding.Kind.choices)
STATE_LABELS = dict(Finding.State.choices)

# A finding in the list names at most this many subjects (a loop or a function over capacity
# can name hundreds); its own page names them all.
SUBJECTS_IN_LIST = 12
SUBJECT_NAME_SHOWN = 70


def _decorate_findings(
    findings: list[Finding], actor: access.Actor, *, in_list: bool = False
) -> list[Finding]:
    _subjects_for(findings)
    finding_presenters.decorate(findings, actor)
    base = reverse("finding", args=[0])[:-2]  # "/findings/"
    for finding in findings:
        # The badges' words, looked up here: get_FOO_display builds a dict of the field's
        # choices on every call, three a card.
        finding.severity_label = SEVERITY_LABELS.get(finding.severity, finding.severity)
        finding.kind_label = KIND_LABELS.get(finding.kind, finding.kind)
        finding.state_label = STATE_LABELS.get(finding.state, finding.state)
        finding.rule_label = RULE_LABELS.get(
            finding.rule, finding.rule.replace("_", " ").capitalize()
        )
        finding.can_triage = access.can_triage_finding(actor, finding)
        finding.url = f"{base}{finding.pk}/"
        finding.actions = (
            [
                (action, label, f"{finding.url}{action}/")
                for action, label in FINDING_ACTIONS.get(finding.state, [])
            ]
            if finding.can_triage
            else []
        )
        finding.can_dismiss = finding.can_triage and finding.state in CAN_DISMISS
        first, last = (_day(at) for at in (finding.first_seen, finding.last_seen))
        finding.seen = f"First seen {first}" + (f" · last seen {last}" if last != first else "")
        if in_list and len(finding.subject_list) > SUBJECTS_IN_LIST:
            finding.subjects_more = len(finding.subject_list) - SUBJECTS_IN_LIST
            finding.subject_list = finding.subject_list[:SUBJECTS_IN_LIST]
        finding.subjects_html = _subjects_html(finding.subject_list)
    return findings


def _subjects_html(subjects: list[Subject]) -> str:
    """The card's list items for its subjects, written here once rather than through the
    template per subject (up to 600 a page); every label, name and address is escaped."""
    return format_html_join(
        "\n      ",
        '<li class="subject"><span class="subject__type">{}</span>{}</li>',
        (
            (s.label, format_html('<a href="{}">{}</a>', s.url, s.name) if s.url else s.name)
            for s in subjects
        ),
    )


def _finding_or_404(pk: int) -> Finding:
    finding = (
        Finding.objects.select_related("cycle", "state_changed_by__profile").filter(pk=pk).first()
    )
    if finding is None:
        raise Http404("No such finding.")
    return finding


@require_safe
def findings(request: AuthedRequest) -> HttpResponse:
    cycle = current_cycle(request)
    actor = access.actor_for(request)
    # (key, name) pairs, not 200 model instances, for the squad filter's options.
    squads = list(
        Squad.objects.filter(cycle=cycle).order_by("name", "id").values_list("key", "name")
        if cycle
        else []
    )
    form = FindingFilterForm(request.GET, squads=squads)
    qs = _findings_queryset(cycle, form)
    # Counted on the severity, not the key: the index on (cycle, state, severity, kind)
    # answers it alone, without reading the table.
    summary = qs.aggregate(
        total=Count("severity"),
        high=Count("severity", filter=Q(severity="high")),
        medium=Count("severity", filter=Q(severity="medium")),
        low=Count("severity", filter=Q(severity="low")),
    )
    paginator = Paginator(
        qs.select_related("state_changed_by__profile")
        .annotate(severity_rank=SEVERITY_RANK)
        .order_by("severity_rank", "kind", "-last_seen", "id"),
        FINDINGS_PAGE_SIZE,
    )
    paginator.count = summary["total"]  # counted with the summary: no COUNT query of its own
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "nav": "findings",
        "cycle": cycle,
        "form": form,
        "filtered": any(form.value(n) for n in ("kind", "severity", "squad"))
        or form.value("state") not in ("", LIVE),
        "findings": _decorate_findings(list(page), actor, in_list=True),
        "summary": summary,
        "page_obj": page,
        "next": request.get_full_path(),
        "findings_url": request.get_full_path(),
        **_review_status(request, cycle),
        "can_run_review": _can_run_review(cycle, actor),
    }
    if request.htmx:
        return render(request, "planning/findings.html#list", context)
    # How the findings these filters select ended, whatever state the list shows.
    context["outcomes"] = finding_presenters.outcomes(_findings_queryset(cycle, form, state="all"))
    return render(request, "planning/findings.html", context)


# --- one finding ---------------------------------------------------------------------------


def _finding_response(
    request: AuthedRequest,
    finding: Finding,
    *,
    next_url: str,
    dismiss_form: DismissForm | None = None,
    error: str = "",
    status: int = 200,
    panel: dict | None = None,
    done: str = "",
) -> HttpResponse:
    """The finding's card (HTMX) or page; `panel` is an action's open form
    (planning/finding_views.py), `done` what an action just did."""
    actor = access.actor_for(request)
    _decorate_findings([finding], actor)
    context = {
        "finding": finding,
        "next": next_url,
        "dismiss_form": dismiss_form,
        "finding_error": error,
        "panel": panel,
        "finding_done": done,
    }
    if request.htmx:
        return render(request, "planning/findings.html#finding", context, status=status)
    context["nav"] = "findings"
    context["timeline"] = finding_presenters.timeline(finding)
    return render(request, "planning/finding.html", context, status=status)


@require_safe
def finding_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    finding = _finding_or_404(pk)
    next_url = _safe_next(request, request.GET.get("next")) or reverse("finding", args=[pk])
    return _finding_response(request, finding, next_url=next_url)


@require_http_methods(["GET", "HEAD", "POST"])
def finding_dismiss_form(request: AuthedRequest, pk: int) -> HttpResponse:
    """The dismiss form (in the card over HTMX, else on the finding's page); POST dismisses."""
    if request.method == "POST":
        return finding_act(request, pk, "dismiss")
    finding = _finding_or_404(pk)
    if not access.can_triage_finding(access.actor_for(request), finding):
        raise PermissionDenied(READ_ONLY_TRIAGE)
    next_url = _safe_next(request, request.GET.get("next")) or reverse("finding", args=[pk])
    return _finding_response(
        request, finding, next_url=next_url, dismiss_form=DismissForm(auto_id=card_ids(finding))
    )


@require_POST
def finding_act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    if action not in ("acknowledge", "resolve", "dismiss", "reopen"):
        raise Http404("No such action.")
    finding = _finding_or_404(pk)
    if not access.can_triage_finding(access.actor_for(request), finding):
        raise PermissionDenied(READ_ONLY_TRIAGE)
    next_url = _safe_next(request, request.POST.get("next")) or reverse("finding", args=[pk])
    dismiss_form = (
        DismissForm(request.POST, auto_id=card_ids(finding)) if action == "dismiss" else None
    )
    if dismiss_form is not None and not dismiss_form.is_valid():
        return _finding_response(request, finding, next_url=next_url, dismiss_form=dismiss_form)
    try:
        if action == "acknowledge":
            services.finding_acknowledge(finding=finding, by=request.user)
        elif action == "resolve":
            findings_services.finding_resolve(finding=finding, by=request.user)
        elif action == "reopen":
            services.finding_reopen(finding=finding, by=request.user)
        else:
            services.finding_dismiss(
                finding=finding, by=request.user, reason=dismiss_form.cleaned_data["reason"]
            )
    except ValidationError as error:
        if dismiss_form is not None and hasattr(error, "error_dict"):
            for errors in error.error_dict.values():
                dismiss_form.add_error("reason", errors)
            return _finding_response(request, finding, next_url=next_url, dismiss_form=dismiss_form)
        problem = " ".join(error.messages)
        if request.htmx:
            return _finding_response(request, _finding_or_404(pk), next_url=next_url, error=problem)
        messages.error(request, problem)
        return redirect(next_url)
    finding = _finding_or_404(pk)
    if request.htmx:
        return _finding_response(request, finding, next_url=next_url)
    messages.success(request, f"Finding {finding.get_state_display().lower()}.")
    return redirect(f"{next_url}#finding-{pk}" if "#" not in next_url else next_url)


# --- running the review now --------------------------------------------------------------


def _started_since(run: ReviewRun | None, since: dt.datetime) -> bool:
    # A couple of seconds' leeway: the run's row and the mark are stamped by different clocks.
    return run is not None and run.started_at >= since - dt.timedelta(seconds=2)


def _review_status(request: HttpRequest, cycle: Cycle | None) -> dict:
    """The latest run of the cycle's review, whether one is on its way or running now, and
    whether the page should keep polling.

    States: "queued" (someone ran it now and no worker has started it yet), "pending" (a
    change queued a review), "running", "stalled" (this person's request was never started),
    "stopped" (the latest run's worker went away) and "idle".
    """
    run = findings_services.review_latest(cycle)
    now = timezone.now()
    requested = request.session.get(REVIEW_REQUEST_KEY) or {}
    state = "idle"
    requested_at = None
    if cycle is not None and requested.get("cycle") == cycle.pk:
        requested_at = dt.datetime.fromisoformat(requested["at"])
        if not _started_since(run, requested_at):
            stalled = now - requested_at > REVIEW_STALLED_AFTER
            state = "stalled" if stalled else "queued"
            if stalled:
                request.session.pop(REVIEW_REQUEST_KEY, None)
        elif run.status != ReviewRun.Status.RUNNING or run.is_abandoned(now):
            request.session.pop(REVIEW_REQUEST_KEY, None)
    if state == "idle":
        waiting = tasks.review_waiting(cycle.pk) if cycle is not None else None
        if run is not None and run.status == ReviewRun.Status.RUNNING and not run.is_abandoned(now):
            state = "running"
        elif waiting is not None and not _started_since(run, waiting.since):
            # Queued for everyone to see, by whoever or whatever asked for it.
            state = "queued" if waiting.trigger == "manual" else "pending"
        elif run is not None and run.is_abandoned(now):
            # Abandoned: its worker went away mid-run (the run's lease expired unrenewed).
            state = "stopped"
    polling = state in ("queued", "pending", "running")
    return {
        "review_run": run,
        "review_ago": _ago(run.finished_at or run.started_at) if run else "",
        "review_state": state,
        "review_polling": polling,
        # What the page shows now: the poll answers "no change" (204) while it is the same.
        "review_seen": f"{state}.{run.pk if run else 0}.{run.status if run else ''}",
        "review_requested_at": requested_at,
    }


def _can_run_review(cycle: Cycle | None, actor: access.Actor) -> bool:
    return cycle is not None and access.can_run_review(actor)


def _ago(when: dt.datetime) -> str:
    if timezone.now() - when < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(when)} ago"


def _status_response(request: AuthedRequest, cycle: Cycle | None) -> HttpResponse:
    status = _review_status(request, cycle)
    if status["review_polling"] and request.GET.get("seen") == status["review_seen"]:
        # Still the same run in the same state: nothing to redraw, the page polls on.
        return HttpResponse(status=204)
    page = _safe_next(request, request.htmx.current_url_abs_path if request.htmx else None)
    context = {
        "cycle": cycle,
        "findings_url": page or reverse("findings"),
        "can_run_review": _can_run_review(cycle, access.actor_for(request)),
        **status,
    }
    response = render(request, "planning/findings.html#review_status", context)
    if request.GET.get("was") == "busy" and not status["review_polling"]:
        # It just finished: the list on the page reloads itself.
        trigger_client_event(response, "review-finished")
    return response


@require_safe
def findings_status(request: AuthedRequest) -> HttpResponse:
    """The review's status line, for the findings page to poll while a review is on its way
    or running: 204 while nothing changed, the new line (and, once the review is over, the
    event that reloads the list) when it did."""
    if not request.htmx:
        return redirect("findings")
    return _status_response(request, current_cycle(request))


@require_POST
def findings_run(request: AuthedRequest) -> HttpResponse:
    actor = access.actor_for(request)
    if not access.can_run_review(actor):
        raise PermissionDenied(READ_ONLY_REVIEW)
    cycle = current_cycle(request)
    if cycle is None:
        raise Http404("There is no planning cycle to review.")
    try:
        outcome = findings_services.review_now(cycle=cycle)
    except Exception:
        outcome = "failed"
    if outcome == findings_services.QUEUED:
        request.session[REVIEW_REQUEST_KEY] = {
            "cycle": cycle.pk,
            "at": timezone.now().isoformat(),
        }
    if request.htmx:
        response = _status_response(request, cycle)
        if outcome != findings_services.QUEUED:
            trigger_client_event(response, "review-finished")
        return response
    if outcome == findings_services.QUEUED:
        messages.info(
            request, f"The review of {cycle.name} is queued; this page shows when it ends."
        )
    elif outcome == "failed":
        messages.error(request, f"The review of {cycle.name} failed; the findings are unchanged.")
    else:
        run = findings_services.review_latest(cycle)
        messages.success(
            request,
            f"The review of {cycle.name} finished: {run.findings_open} open, "
            f"{run.findings_new} new, {run.findings_resolved} resolved.",
        )
    return redirect("findings")


# ---------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------


@require_safe
def notifications(request: AuthedRequest) -> HttpResponse:
    """The signed-in person's notifications, newest first; opening the page reads them."""
    mine = Notification.objects.for_user(request.user)
    page = Paginator(mine, FINDINGS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page)
    unread = [n.pk for n in rows if n.read_at is None]
    for note in rows:
        note.is_new = note.read_at is None
        note.ago = _ago(note.created_at)
    findings_services.notifications_mark_read(user=request.user, ids=unread)
    return render(
        request,
        "planning/notifications.html",
        {
            "nav": "notifications",
            # Counted again: opening the page has just read some.
            "unread_notifications": mine.filter(read_at__isnull=True).count(),
            "notifications": rows,
            "new_count": len(unread),
            "page_obj": page,
        },
    )
