"""Acting on a finding where it is: the forms and views behind the actions its card offers.

Each action opens its form inside the finding's card over HTMX (hx-get), or on the finding's
own page without script (the same link); a valid POST acts through planning/finding_actions.py
and answers with the card as it is now (HTMX) or a redirect to where the person came from.
Who may do what is core.access's: the views ask it before anything is shown or changed.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core import access
from core.forms import FormWithErrors
from core.http import AuthedRequest
from core.validators import DATE_MAX, DATE_MIN, validate_date_in_range
from core.versioning import posted_version
from dependencies.models import Dependency, transition_problem
from planning import finding_actions as actions
from planning.finding_actions import FATES, OVERLAP_RULE, STAGE_RULE
from planning.models import Finding, OverlapVerdict
from planning.views import (
    READ_ONLY_TRIAGE,
    _finding_or_404,
    _finding_response,
    _safe_next,
    card_ids,
)
from squads.models import Initiative, Squad

READ_ONLY_STAGE = "Only leadership says which squad covers a journey stage."
READ_ONLY_ANSWER = "Only the providing side can answer this dependency."
READ_ONLY_MOVE = "Only the needing squad's members and operations move this dependency's date."
DATE_WIDGET = forms.DateInput(
    attrs={"type": "date", "min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()},
    format="%Y-%m-%d",
)


# --- forms ----------------------------------------------------------------------------------


def seen_versions(data, initiatives: list[Initiative]) -> dict[int, int]:
    """The versions of the initiatives the person saw, as `version_<id>` fields; one missing
    or unreadable never matches (the service then says the initiative changed, and nothing
    is written)."""
    return {i.pk: posted_version({"version": data.get(f"version_{i.pk}")}) for i in initiatives}


class LeadForm(FormWithErrors):
    """Which initiative leads, and what becomes of each other one."""

    lead = forms.ChoiceField(
        label="Which initiative leads?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the initiative that leads this work."},
    )
    due = forms.DateField(
        label="The others need the lead's work by",
        required=False,
        widget=DATE_WIDGET,
        help_text="Leave it empty for the day the lead's initiative ends.",
        error_messages={"invalid": "Enter a date."},
        validators=[validate_date_in_range],
    )

    def __init__(self, data=None, *, initiatives: list[Initiative], auto_id: str) -> None:
        super().__init__(data, auto_id=auto_id)
        self.initiatives = [i for i in initiatives if i.status != Initiative.Status.DROPPED]
        self.fields["lead"].choices = [(str(i.pk), i.title) for i in self.initiatives]
        for initiative in self.initiatives:
            self.fields[f"fate_{initiative.pk}"] = forms.ChoiceField(
                label=f"What becomes of “{initiative.title}” if it does not lead",
                choices=list(FATES.items()),
                initial=actions.DEPEND,
                required=False,  # the lead's own is not asked; the service checks the rest
            )
            self.fields[f"version_{initiative.pk}"] = forms.CharField(
                widget=forms.HiddenInput, initial=initiative.version, required=False
            )

    def rows(self):
        """(initiative, its lead radio, its fate field, its version field), in order."""
        radios = list(self["lead"])
        return [
            (i, radios[n], self[f"fate_{i.pk}"], self[f"version_{i.pk}"])
            for n, i in enumerate(self.initiatives)
        ]

    def lead_initiative(self) -> Initiative:
        chosen = int(self.cleaned_data["lead"])
        return next(i for i in self.initiatives if i.pk == chosen)

    def fates(self) -> dict[int, str]:
        return {i.pk: self.cleaned_data.get(f"fate_{i.pk}") for i in self.initiatives}

    def versions(self) -> dict[int, int]:
        return seen_versions(self.data, self.initiatives)


class RelatedForm(FormWithErrors):
    reason = forms.CharField(
        label="Why do both squads keep their work?",
        max_length=actions.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "autofocus": True}),
        help_text="Required. The review will not raise these initiatives together again unless "
        "one of their texts changes materially.",
        error_messages={"required": "Say why both squads keep their work."},
    )

    def __init__(self, data=None, *, initiatives: list[Initiative], auto_id: str) -> None:
        super().__init__(data, auto_id=auto_id)
        self.initiatives = [i for i in initiatives if i.status != Initiative.Status.DROPPED]
        for initiative in self.initiatives:
            self.fields[f"version_{initiative.pk}"] = forms.CharField(
                widget=forms.HiddenInput, initial=initiative.version, required=False
            )

    def version_fields(self):
        return [self[f"version_{i.pk}"] for i in self.initiatives]

    def versions(self) -> dict[int, int]:
        return seen_versions(self.data, self.initiatives)


class StageForm(FormWithErrors):
    squad = forms.ModelChoiceField(
        label="Which squad covers the stage from now on?",
        queryset=Squad.objects.none(),
        empty_label="Choose a squad",
        error_messages={"required": "Choose the squad that covers this stage."},
    )

    def __init__(self, data=None, *, finding: Finding) -> None:
        super().__init__(data, auto_id=card_ids(finding))
        self.fields["squad"].queryset = Squad.objects.filter(cycle_id=finding.cycle_id).order_by(
            "name", "id"
        )


class DependencyActForm(FormWithErrors):
    """An answer to the finding's dependency, or its new due date."""

    LABELS = {
        "accept": "Accept",
        "decline": "Decline",
        "at_risk": "Mark at risk",
        "move": "Move the due date",
    }

    note = forms.CharField(
        label="Note",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "autofocus": True}),
        help_text="Added to the dependency's note with your name and the date.",
    )
    was = forms.CharField(widget=forms.HiddenInput, required=False)
    due = forms.DateField(
        label="New due date",
        required=False,
        widget=DATE_WIDGET,
        error_messages={"invalid": "Enter a date."},
        validators=[validate_date_in_range],
    )
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data=None, *, action: str, dependency: Dependency, finding: Finding) -> None:
        super().__init__(
            data,
            auto_id=card_ids(finding),
            initial={
                "was": dependency.status,
                "version": dependency.version,
                "due": dependency.due,
            },
        )
        self.action = action
        self.dependency = dependency
        self.label = self.LABELS[action]
        if action == "decline":
            self.fields["note"].label = "Why decline?"
            self.fields["note"].required = True
            self.fields["note"].error_messages["required"] = (
                "Say why you decline, so the squads can re-plan."
            )
        elif action == "at_risk":
            self.fields["note"].label = "What puts it at risk?"
            self.fields["note"].required = True
            self.fields["note"].error_messages["required"] = (
                "Say why it is at risk, so the squads can re-plan."
            )
        elif action == "move":
            self.fields["due"].required = True
            self.fields["due"].error_messages["required"] = "Say by when it is needed now."

    def clean(self):
        data = super().clean()
        if data.get("was") and data["was"] not in Dependency.Status.values:
            self.add_error(None, "This form is out of date: open the finding again.")
        # A missing or unreadable version never matches: the save meets the conflict.
        data["version"] = posted_version({"version": data.get("version")})
        return data


# --- shared steps ---------------------------------------------------------------------------


def _next(request: AuthedRequest, finding: Finding) -> str:
    data = request.POST if request.method == "POST" else request.GET
    return _safe_next(request, data.get("next")) or reverse("finding", args=[finding.pk])


def _triaged(request: AuthedRequest, pk: int, rule: str) -> tuple[Finding, access.Actor]:
    finding = _finding_or_404(pk)
    actor = access.actor_for(request)
    if not access.can_triage_finding(actor, finding):
        raise PermissionDenied(READ_ONLY_TRIAGE)
    if finding.rule != rule:
        raise Http404("This finding has no such action.")
    return finding, actor


def _too_large(request: AuthedRequest, finding: Finding, next_url: str) -> HttpResponse | None:
    if actions.overlap_settles_here(finding):
        return None
    problem = (
        f"This finding names more than {actions.MAX_OVERLAP_INITIATIVES} initiatives: settle "
        "it in smaller steps on the squads' plans, or dismiss it with a reason."
    )
    return _refused(request, finding, problem, next_url)


def _panel(request, finding, *, panel: str, form, next_url: str, **extra) -> HttpResponse:
    return _finding_response(
        request,
        finding,
        next_url=next_url,
        panel={"name": panel, "form": form, "url": request.path, **extra},
    )


def _refused(request: AuthedRequest, finding: Finding, problem: str, next_url: str) -> HttpResponse:
    """The action could not be taken as asked (and nothing was changed): say why."""
    if request.htmx:
        return _finding_response(
            request, _finding_or_404(finding.pk), next_url=next_url, error=problem
        )
    messages.error(request, problem)
    return redirect(next_url)


def _done(request: AuthedRequest, finding: Finding, message: str, next_url: str) -> HttpResponse:
    if request.htmx:
        return _finding_response(
            request, _finding_or_404(finding.pk), next_url=next_url, done=message
        )
    messages.success(request, message)
    return redirect(f"{next_url}#finding-{finding.pk}" if "#" not in next_url else next_url)


# --- overlap findings -----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def finding_lead(request: AuthedRequest, pk: int) -> HttpResponse:
    """ "One squad leads": the lead's initiative, and each other one builds on it or is
    dropped, in one step."""
    finding, actor = _triaged(request, pk, OVERLAP_RULE)
    next_url = _next(request, finding)
    if not finding.is_live:
        return _refused(request, finding, "This finding is settled already.", next_url)
    if refused := _too_large(request, finding, next_url):
        return refused
    initiatives = actions.overlap_initiatives(finding)
    form = LeadForm(
        request.POST if request.method == "POST" else None,
        initiatives=initiatives,
        auto_id=card_ids(finding),
    )
    if request.method == "POST" and form.is_valid():
        lead = form.lead_initiative()
        changed = {i.squad_id for i in form.initiatives if i.pk != lead.pk}
        if not access.can_settle_overlap(actor, finding, changed):
            form.add_error(
                None,
                "As a squad's DRI you can fold only your own squad's initiatives into another "
                "squad's work; choose a lead so that only your squad's work changes, or ask "
                "operations or leadership.",
            )
        else:
            try:
                outcome = actions.finding_lead(
                    finding=finding,
                    lead=lead,
                    fates=form.fates(),
                    versions=form.versions(),
                    due=form.cleaned_data["due"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return _done(request, finding, outcome.summary, next_url)
    return _panel(request, finding, panel="lead", form=form, next_url=next_url)


@require_POST
def finding_not_same(request: AuthedRequest, pk: int) -> HttpResponse:
    finding, _ = _triaged(request, pk, OVERLAP_RULE)
    next_url = _next(request, finding)
    try:
        actions.finding_judge_overlap(
            finding=finding,
            verdict=OverlapVerdict.Verdict.NOT_SAME,
            versions=seen_versions(request.POST, actions.overlap_initiatives(finding)),
            by=request.user,
        )
    except ValidationError as error:
        return _refused(request, finding, " ".join(error.messages), next_url)
    return _done(
        request,
        finding,
        "Remembered as not the same work: the review will not raise these initiatives "
        "together again unless one of their texts changes materially.",
        next_url,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def finding_related(request: AuthedRequest, pk: int) -> HttpResponse:
    finding, _ = _triaged(request, pk, OVERLAP_RULE)
    next_url = _next(request, finding)
    if not finding.is_live:
        return _refused(request, finding, "This finding is settled already.", next_url)
    if refused := _too_large(request, finding, next_url):
        return refused
    form = RelatedForm(
        request.POST if request.method == "POST" else None,
        initiatives=actions.overlap_initiatives(finding),
        auto_id=card_ids(finding),
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.finding_judge_overlap(
                finding=finding,
                verdict=OverlapVerdict.Verdict.RELATED,
                versions=form.versions(),
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return _done(
                request, finding, "Dismissed as related work that both squads keep.", next_url
            )
    return _panel(request, finding, panel="related", form=form, next_url=next_url)


# --- an unowned stage -----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def finding_stage(request: AuthedRequest, pk: int) -> HttpResponse:
    finding = _finding_or_404(pk)
    if not access.can_cover_stage(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY_STAGE)
    if finding.rule != STAGE_RULE:
        raise Http404("This finding has no such action.")
    next_url = _next(request, finding)
    if not finding.is_live:
        return _refused(request, finding, "This finding is settled already.", next_url)
    form = StageForm(request.POST if request.method == "POST" else None, finding=finding)
    if request.method == "POST" and form.is_valid():
        try:
            actions.finding_stage_cover(
                finding=finding, squad=form.cleaned_data["squad"], by=request.user
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            stage = actions.finding_stage(finding)
            name = stage.name if stage else "the"
            return _done(
                request,
                finding,
                f"{form.cleaned_data['squad'].name} covers the {name} stage now.",
                next_url,
            )
    return _panel(
        request,
        finding,
        panel="stage",
        form=form,
        next_url=next_url,
        stage=actions.finding_stage(finding),
    )


# --- a finding about one dependency ---------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def finding_dependency(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    """Answer the finding's dependency (the provider side and operations) or move its due
    date (the needing side and operations)."""
    if action not in actions.DEPENDENCY_ACTIONS:
        raise Http404("No such action.")
    finding = _finding_or_404(pk)
    dependency = actions.finding_dependency(finding)
    if dependency is None:
        raise Http404("This finding has no such action.")
    actor = access.actor_for(request)
    if action == "move":
        if not access.can_edit_dependency(actor, dependency):
            raise PermissionDenied(READ_ONLY_MOVE)
    elif not access.can_respond_dependency(actor, dependency):
        raise PermissionDenied(READ_ONLY_ANSWER)
    next_url = _next(request, finding)
    if not finding.is_live:
        return _refused(request, finding, "This finding is settled already.", next_url)
    wanted = {
        "accept": Dependency.Status.ACCEPTED,
        "decline": Dependency.Status.DECLINED,
        "at_risk": Dependency.Status.AT_RISK,
    }.get(action)
    if wanted and (problem := transition_problem(dependency.status, wanted)):
        return _refused(request, finding, problem, next_url)
    if action == "move" and not dependency.is_open():
        problem = f"This dependency is {dependency.get_status_display().lower()}: no date to move."
        return _refused(request, finding, problem, next_url)
    form = DependencyActForm(
        request.POST if request.method == "POST" else None,
        action=action,
        dependency=dependency,
        finding=finding,
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.finding_dependency_act(
                finding=finding,
                dependency=dependency,
                action=action,
                by=request.user,
                note=form.cleaned_data["note"],
                seen_status=form.cleaned_data["was"] or None,
                due=form.cleaned_data["due"],
                version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                return _refused(request, finding, " ".join(error.messages), next_url)
            form.add_service_errors(error)
        else:
            return _done(request, finding, _answered(dependency, action), next_url)
    return _panel(
        request, finding, panel="dependency", form=form, next_url=next_url, dependency=dependency
    )


def _answered(dependency: Dependency, action: str) -> str:
    if action == "move":
        return f"“{dependency.what}” is due on {_day(dependency.due)} now."
    return f"“{dependency.what}” is {dependency.get_status_display().lower()} now."


def _day(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"
