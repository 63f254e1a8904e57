"""The squad pages: the list, a squad with its members, OKR, key results and check-ins.

Each page is one template whose updatable parts are partials. An HTMX request gets only the
part it asked for; a plain request gets the whole page, with the part in edit mode when the
URL is an edit URL, so every page and form also works without script. The squad's plan,
which shows the dependencies too, is a page of the top layer (planning/plan/).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, NoReturn

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Prefetch, Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access, versioning
from core.cycles import current_cycle
from core.http import AuthedRequest
from core.people import display_name
from core.removal import gone_or_404
from journeys.models import Stage
from squads import access as squad_access
from squads import conflicts, services
from squads.forms import (
    CheckInForm,
    DriHandoverForm,
    KeyResultForm,
    MemberAddForm,
    ObjectiveForm,
    SquadCreateForm,
    known_functions,
    plain_number,
)
from squads.models import OKR, CheckIn, Goal, Initiative, KeyResult, Membership, Squad
from squads.outcomes import served_segments

if TYPE_CHECKING:
    pass


@dataclass
class KeyResultCard:
    kr: KeyResult
    check_ins: list[CheckIn]
    check_in_form: CheckInForm | None = None
    edit_form: KeyResultForm | None = None
    conflict: conflicts.RecordConflict | None = None

    @property
    def edit_version(self) -> int:
        return versioning.edit_version(self.conflict, self.edit_form, self.kr.version)

    def _with_unit(self, value: Decimal | None) -> str:
        if value is None:
            return ""
        unit = self.kr.unit
        if not unit:
            return display_number(value)
        joiner = "" if unit in ("%", "‰") else "\N{NO-BREAK SPACE}"
        return f"{display_number(value)}{joiner}{unit}"

    @property
    def baseline(self) -> str:
        return self._with_unit(self.kr.baseline)

    @property
    def current(self) -> str:
        return self._with_unit(self.kr.current)

    @property
    def target(self) -> str:
        return self._with_unit(self.kr.target)

    @property
    def direction_arrow(self) -> str:
        return "↑" if self.kr.direction == KeyResult.Direction.INCREASE else "↓"

    @property
    def percent(self) -> int | None:
        progress = self.kr.progress()
        return None if progress is None else round(progress * 100)

    @property
    def no_progress_reason(self) -> str:
        if not self.kr.is_measurable:
            missing = [
                label
                for label, value in (("baseline", self.kr.baseline), ("target", self.kr.target))
                if value is None
            ]
            return "no " + " or ".join(missing)
        if self.kr.current is None:
            return "no check-in yet"
        return "not measurable"

    def value_text(self, value: Decimal | None) -> str:
        return self._with_unit(value)

    @property
    def latest(self) -> CheckIn | None:
        return self.check_ins[0] if self.check_ins else None

    @property
    def recent(self) -> list[CheckIn]:
        return self.check_ins[:3]

    @property
    def older(self) -> list[CheckIn]:
        return self.check_ins[3:]


def display_number(value: Decimal | None) -> str:
    """A number for reading: 150000.0000 as "150,000", 1.5000 as "1.5"."""
    text = plain_number(value)
    if not text:
        return text
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def confidence_tone(confidence: int) -> str:
    return "good" if confidence >= 7 else "warn" if confidence >= 4 else "bad"


# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------


def _forbid(message: str = "You can see this squad but not change it.") -> NoReturn:
    raise PermissionDenied(message)


def _manageable_squad(request: AuthedRequest, key: str) -> Squad:
    squad, _ = squad_access.get_squad_for_user(request, key)
    if not access.can_manage_squad(access.actor_for(request), squad):
        _forbid("Only the squad's DRI or leadership can change its members and OKR.")
    return squad


def _check_in_squad(request: AuthedRequest, key: str) -> Squad:
    squad, _ = squad_access.get_squad_for_user(request, key)
    if not access.can_check_in(access.actor_for(request), squad):
        _forbid("Only the squad's members can check in on its key results.")
    return squad


# ---------------------------------------------------------------------------------------
# The list of squads
# ---------------------------------------------------------------------------------------


# A page of the list: the cards of 800 squads would be a megabyte of HTML drawn per view.
SQUADS_PER_PAGE = 24


def _squad_search(cycle, words: str):
    """The cycle's squads whose name, key or DRI matches `words`, in the list's order."""
    squads = Squad.objects.filter(cycle=cycle)
    for word in words.split()[:8]:
        squads = squads.filter(
            Q(name__icontains=word)
            | Q(key__icontains=word)
            | Q(dri__username__icontains=word)
            | Q(dri__profile__display_name__icontains=word)
        )
    return squads.order_by("name", "key")


# The columns of a card that come with the squad's row.
_CARD_COLUMNS = (
    "pk",
    "key",
    "name",
    "dri__username",
    "dri__profile__display_name",
    "dri__profile__title",
)


def _squad_cards(rows: list[dict], cycle) -> list[dict]:
    """The cards of a page of squads as plain values: a fixed number of queries, each
    reading only the columns the card shows."""
    ids = [row["pk"] for row in rows]
    members: dict[int, dict[str, list[str]]] = {pk: {} for pk in ids}
    for squad_id, function, name, username in (
        Membership.objects.filter(squad_id__in=ids)
        .order_by("squad_id", "function", "person__profile__display_name", "person__username")
        .values_list("squad_id", "function", "person__profile__display_name", "person__username")
    ):
        members[squad_id].setdefault(function, []).append(name or username)
    initiatives = dict(
        Initiative.objects.filter(squad_id__in=ids)
        .order_by()
        .values("squad_id")
        .annotate(n=Count("id"))
        .values_list("squad_id", "n")
    )
    # The squad's first OKR of the cycle, as the squad page shows.
    okrs = {
        squad_id: (okr_id, objective)
        for squad_id, okr_id, objective in OKR.objects.filter(squad_id__in=ids, cycle=cycle)
        .order_by("-id")
        .values_list("squad_id", "pk", "objective")
    }
    key_results: dict[int, list[dict]] = {}
    for kr in (
        KeyResult.objects.filter(okr_id__in=[okr_id for okr_id, _ in okrs.values()])
        .only("okr_id", "name", "unit", "direction", "baseline", "current", "target")
        .annotate(squad_id=F("okr__squad_id"))
    ):
        card = KeyResultCard(kr=kr, check_ins=[])
        percent = card.percent
        key_results.setdefault(kr.squad_id, []).append(
            {
                "name": kr.name,
                "percent": percent,
                "no_progress_reason": "" if percent is not None else card.no_progress_reason,
                "baseline": card.baseline,
                "current": card.current,
                "target": card.target,
            }
        )
    # One address built per page, not one {% url %} per card.
    detail = reverse("squads:detail", args=["-"])[:-2]
    cards = []
    for row in rows:
        key = row["key"]
        count = sum(len(names) for names in members[row["pk"]].values())
        cards.append(
            {
                "key": key,
                "name": row["name"],
                "url": f"{detail}{key}/",
                "plan_url": f"{detail}{key}/plan/",
                "dri": row["dri__profile__display_name"] or row["dri__username"],
                "dri_title": row["dri__profile__title"] or "",
                "functions": [
                    (function, ", ".join(names)) for function, names in members[row["pk"]].items()
                ],
                "has_okr": row["pk"] in okrs,
                "objective": okrs[row["pk"]][1] if row["pk"] in okrs else "",
                "key_results": key_results.get(row["pk"], []),
                "members": count,
                "initiatives": initiatives.get(row["pk"], 0),
            }
        )
    return cards


def _list_page_url(request: AuthedRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return "?" + query.urlencode()


@require_safe
def squad_list(request: AuthedRequest) -> HttpResponse:
    cycle = current_cycle(request)
    words = request.GET.get("q", "").strip()[:100]
    actor = access.actor_for(request)
    context = {
        "cycle": cycle,
        "q": words,
        "can_create": access.can_create_squad(actor),
        "can_edit_cycle": access.can_edit_cycle(actor),
        "nav": "squads",
        "squads": [],
    }
    if cycle is not None:
        found = _squad_search(cycle, words).values(*_CARD_COLUMNS)
        page = Paginator(found, SQUADS_PER_PAGE).get_page(request.GET.get("page"))
        context.update(
            page=page,
            squads=_squad_cards(list(page.object_list), cycle),
            previous_url=_list_page_url(request, page.previous_page_number())
            if page.has_previous()
            else "",
            next_url=_list_page_url(request, page.next_page_number()) if page.has_next() else "",
        )
    return render(request, "squads/list.html", context)


# ---------------------------------------------------------------------------------------
# Creating a squad
# ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def squad_create(request: AuthedRequest) -> HttpResponse:
    if not access.can_create_squad(access.actor_for(request)):
        _forbid("Only leadership can form new squads.")
    functions = known_functions()
    if request.method == "POST":
        form = SquadCreateForm(request.POST, functions=functions)
        kr_form = KeyResultForm(request.POST, prefix="kr", optional=True)
        if form.is_valid() and kr_form.is_valid():
            data = form.cleaned_data
            try:
                squad = services.squad_create(
                    key=data["key"],
                    name=data["name"],
                    cycle=data["cycle"],
                    dri=data["dri"],
                    dri_function=data["dri_function"],
                    objective=data["objective"],
                    first_key_result=None if kr_form.is_blank() else kr_form.fields_for_service(),
                    stages=data["stages"],
                    by=request.user,
                )
            except ValidationError as error:
                _split_create_errors(error, form, kr_form)
            else:
                messages.success(request, f"{squad.name} is formed. Next: its plan.")
                return redirect("squads:detail", key=squad.key)
    else:
        cycle = current_cycle(request)
        form = SquadCreateForm(initial={"cycle": cycle}, functions=functions)
        kr_form = KeyResultForm(prefix="kr", optional=True)
    return render(
        request, "squads/create.html", {"form": form, "kr_form": kr_form, "nav": "squads"}
    )


def _split_create_errors(error: ValidationError, form, kr_form) -> None:
    for name, errors in getattr(error, "error_dict", {None: error.error_list}).items():
        if name and name.startswith("kr_") and name[3:] in kr_form.fields:
            kr_form.add_error(name[3:], errors)
        else:
            form.add_error(name if name in form.fields else None, errors)


# ---------------------------------------------------------------------------------------
# One squad
# ---------------------------------------------------------------------------------------


def served_goals() -> Prefetch:
    """The live company goals an OKR serves, in the goals' order (`okr.goals.all`)."""
    return Prefetch("goals", queryset=Goal.objects.order_by("position", "starts_year", "id"))


def _okr_for(squad: Squad) -> OKR | None:
    return (
        OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id)
        .prefetch_related(
            served_goals(),
            Prefetch(
                "key_results",
                queryset=KeyResult.objects.prefetch_related(
                    Prefetch(
                        "check_ins",
                        queryset=CheckIn.objects.select_related("author__profile"),
                    )
                ),
            ),
        )
        .first()
    )


def _key_result_or_404(squad: Squad, kr_key: str) -> KeyResult:
    lookup = {"okr__squad": squad, "okr__cycle_id": squad.cycle_id, "key": kr_key}
    found = KeyResult.objects.select_related("okr").filter(**lookup).first()
    if found is None:
        gone_or_404(KeyResult.everything, "key result", **lookup)
    return found


def _key_result_card(
    request: AuthedRequest, squad: Squad, kr: KeyResult, *, fresh: bool = False, **forms
) -> KeyResultCard:
    if fresh:
        check_ins = list(
            kr.check_ins.select_related("author__profile").order_by("-created_at", "-id")
        )
    else:
        check_ins = list(kr.check_ins.all())
    card = KeyResultCard(kr=kr, check_ins=check_ins, **forms)
    if card.check_in_form is None and access.can_check_in(access.actor_for(request), squad):
        card.check_in_form = CheckInForm(key_result=kr)
    for check_in in card.check_ins:
        check_in.tone = confidence_tone(check_in.confidence)
        check_in.value_text = card.value_text(check_in.value)
    return card


def _members_context(
    request: AuthedRequest, squad: Squad, *, member_form=None, handover_form=None, error=None
) -> dict:
    memberships = sorted(
        Membership.objects.filter(squad=squad)
        .select_related("person__profile")
        .order_by("function", "person__profile__display_name", "person__username"),
        key=lambda m: m.person_id != squad.dri_id,  # the DRI first, then by function
    )
    context = {
        "squad": squad,
        "memberships": memberships,
        "members_error": error,
        **access.squad_flags(request, squad),
    }
    if context["can_manage"]:
        context["member_form"] = member_form or MemberAddForm(
            squad=squad, functions=known_functions()
        )
        context["handover_form"] = handover_form or DriHandoverForm(squad=squad)
    return context


def _detail_context(
    request: AuthedRequest,
    squad: Squad,
    *,
    objective_form=None,
    new_kr_form=None,
    kr_forms: dict[int, dict] | None = None,
    member_form=None,
    handover_form=None,
    members_error=None,
    stages_form=None,
) -> dict:
    okr = _okr_for(squad)
    kr_forms = kr_forms or {}
    context = _members_context(
        request,
        squad,
        member_form=member_form,
        handover_form=handover_form,
        error=members_error,
    )
    cards = (
        [
            _key_result_card(request, squad, kr, **kr_forms.get(kr.pk, {}))
            for kr in okr.key_results.all()
        ]
        if okr
        else []
    )
    initiative_stats = Initiative.objects.filter(squad=squad).exclude(status="dropped")
    # What the squad needs, its own or its initiatives': the dependencies app sits above this
    # one, so the rows are reached through the relation it declares ("needs").
    dependency = Squad._meta.get_field("needs").related_model
    needs = dependency.objects.filter(needer=squad)
    context.update(
        {
            "okr": okr,
            "cards": cards,
            "objective_form": objective_form,
            "new_kr_form": new_kr_form,
            **stages_context(request, squad, stages_form),
            "has_goals": Goal.objects.exists(),
            "served_segments": served_segments(squad),
            "initiative_count": initiative_stats.count(),
            "open_needs": needs.exclude(status__in=["done", "declined"]).count(),
            "can_remove_squad": access.can_remove_squad(access.actor_for(request)),
            "nav": "squads",
        }
    )
    return context


def covered_stages(squad: Squad) -> list[Stage]:
    """The journey stages this squad covers, in journey order."""
    return list(
        Stage.objects.filter(squadstage__squad=squad)
        .select_related("journey")
        .order_by("journey_id", "position", "id")
    )


def stages_context(request: AuthedRequest, squad: Squad, stages_form=None) -> dict:
    """What the squad page's stages part shows, and its form when it is being changed."""
    return {
        "squad": squad,
        "stages": covered_stages(squad),
        "stages_form": stages_form,
        "can_set_stages": access.can_set_squad_stages(access.actor_for(request), squad),
    }


@require_safe
def squad_detail(request: AuthedRequest, key: str) -> HttpResponse:
    squad, _ = squad_access.get_squad_for_user(request, key)
    return render(request, "squads/detail.html", _detail_context(request, squad))


# Members and the DRI -------------------------------------------------------------------


def _members_response(request: AuthedRequest, squad: Squad, **kwargs) -> HttpResponse:
    return render(request, "squads/detail.html#members", _members_context(request, squad, **kwargs))


@require_POST
def member_add(request: AuthedRequest, key: str) -> HttpResponse:
    squad = _manageable_squad(request, key)
    form = MemberAddForm(request.POST, squad=squad, functions=known_functions())
    if form.is_valid():
        try:
            membership = services.membership_add(
                squad=squad,
                person=form.cleaned_data["person"],
                function=form.cleaned_data["function"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if request.htmx:
                return _members_response(request, squad)
            messages.success(request, f"{display_name(membership.person)} joined.")
            return redirect(reverse("squads:detail", args=[squad.key]) + "#members")
    if request.htmx:
        return _members_response(request, squad, member_form=form)
    return render(request, "squads/detail.html", _detail_context(request, squad, member_form=form))


@require_POST
def member_remove(request: AuthedRequest, key: str, username: str) -> HttpResponse:
    squad = _manageable_squad(request, key)
    membership = get_object_or_404(
        Membership.objects.select_related("person__profile"),
        squad=squad,
        person__username=username,
    )
    try:
        services.membership_remove(squad=squad, person=membership.person, by=request.user)
    except ValidationError as error:
        message = " ".join(error.messages)
        if request.htmx:
            return _members_response(request, squad, error=message)
        messages.error(request, message)
    else:
        if request.htmx:
            return _members_response(request, squad)
        messages.success(request, f"{display_name(membership.person)} left the squad.")
    return redirect(reverse("squads:detail", args=[squad.key]) + "#members")


@require_POST
def dri_handover(request: AuthedRequest, key: str) -> HttpResponse:
    """A plain form on purpose: who may manage the squad changes, so the whole page does."""
    squad = _manageable_squad(request, key)
    form = DriHandoverForm(request.POST, squad=squad)
    if form.is_valid():
        try:
            services.dri_handover(squad=squad, to=form.cleaned_data["person"], by=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            name = display_name(form.cleaned_data["person"])
            messages.success(request, f"{name} is now the DRI of {squad.name}.")
            return redirect("squads:detail", key=squad.key)
    return render(
        request, "squads/detail.html", _detail_context(request, squad, handover_form=form)
    )


# The OKR -------------------------------------------------------------------------------


def _objective_context(request: AuthedRequest, squad: Squad, form=None) -> dict:
    okr = (
        OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id)
        .prefetch_related(served_goals())
        .first()
    )
    return {
        "squad": squad,
        "okr": okr,
        "objective_form": form,
        "has_goals": Goal.objects.exists(),
        **access.squad_flags(request, squad),
    }


@require_safe
def okr_objective(request: AuthedRequest, key: str) -> HttpResponse:
    squad, _ = squad_access.get_squad_for_user(request, key)
    if not request.htmx:
        return redirect(reverse("squads:detail", args=[squad.key]) + "#okr")
    return render(request, "squads/detail.html#objective", _objective_context(request, squad))


def _objective_form_after_conflict(request: AuthedRequest, squad: Squad) -> ObjectiveForm:
    """The person's draft (words and ticks) as posted, on the version now saved."""
    okr = OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id).first()
    data = request.POST.copy()
    data["version"] = services.objective_version(okr)
    form = ObjectiveForm(data)
    form.is_valid()
    return form


@require_http_methods(["GET", "HEAD", "POST"])
def okr_edit(request: AuthedRequest, key: str) -> HttpResponse:
    squad = _manageable_squad(request, key)
    if request.method == "POST":
        form = ObjectiveForm(request.POST)
        if form.is_valid():
            try:
                services.okr_update(
                    squad=squad,
                    objective=form.cleaned_data["objective"],
                    goals=form.cleaned_data["goals"] if form.offers_goals else None,
                    by=request.user,
                    version=form.cleaned_data["version"] or None,
                )
            except ValidationError as error:
                stale = any(
                    e.code == services.OBJECTIVE_STALE
                    for e in getattr(error, "error_dict", {}).get("objective", [])
                )
                if stale:
                    # The person's words and ticks stay, on the version now saved: saving
                    # again keeps them over what the other person saved.
                    form = _objective_form_after_conflict(request, squad)
                form.add_service_errors(error)
            else:
                if request.htmx:
                    context = _objective_context(request, squad)
                    return render(request, "squads/detail.html#objective", context)
                messages.success(request, "Objective saved.")
                return redirect(reverse("squads:detail", args=[squad.key]) + "#okr")
    else:
        okr = OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id).first()
        goals = list(okr.goal_links.values_list("goal_id", flat=True)) if okr else []
        form = ObjectiveForm(
            initial={
                "objective": okr.objective if okr else "",
                "goals": goals,
                "version": services.objective_version(okr),
            }
        )
    if request.htmx:
        context = _objective_context(request, squad, form)
        return render(request, "squads/detail.html#objective", context)
    return render(
        request, "squads/detail.html", _detail_context(request, squad, objective_form=form)
    )


# Key results ---------------------------------------------------------------------------


def _okr_context(request: AuthedRequest, squad: Squad, new_kr_form=None) -> dict:
    okr = _okr_for(squad)
    cards = [_key_result_card(request, squad, kr) for kr in okr.key_results.all()] if okr else []
    return {
        "squad": squad,
        "okr": okr,
        "cards": cards,
        "new_kr_form": new_kr_form,
        "has_goals": Goal.objects.exists(),
        **access.squad_flags(request, squad),
    }


@require_http_methods(["GET", "HEAD", "POST"])
def key_result_create(request: AuthedRequest, key: str) -> HttpResponse:
    squad = _manageable_squad(request, key)
    okr = OKR.objects.filter(squad=squad, cycle_id=squad.cycle_id).first()
    if okr is None:
        messages.error(request, "Write the squad's objective before its key results.")
        return redirect(reverse("squads:detail", args=[squad.key]) + "#okr")
    if request.method == "POST":
        form = KeyResultForm(request.POST, okr=okr)
        if form.is_valid():
            try:
                kr = services.key_result_create(
                    okr=okr, **form.fields_for_service(), by=request.user
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if request.htmx:
                    return render(request, "squads/detail.html#okr", _okr_context(request, squad))
                messages.success(request, f"Key result “{kr.name}” added.")
                return redirect(reverse("squads:detail", args=[squad.key]) + f"#kr-{kr.key}")
    else:
        form = KeyResultForm(okr=okr)
    if request.htmx:
        # The form replaces the whole OKR part so that saving it can show the new card.
        return render(request, "squads/detail.html#okr", _okr_context(request, squad, form))
    return render(request, "squads/detail.html", _detail_context(request, squad, new_kr_form=form))


@require_safe
def key_result_detail(request: AuthedRequest, key: str, kr_key: str) -> HttpResponse:
    squad, _ = squad_access.get_squad_for_user(request, key)
    kr = _key_result_or_404(squad, kr_key)
    if not request.htmx:
        return redirect(reverse("squads:detail", args=[squad.key]) + f"#kr-{kr.key}")
    return _key_result_response(request, squad, kr)


def _key_result_response(request: AuthedRequest, squad: Squad, kr: KeyResult, **forms):
    card = _key_result_card(request, squad, kr, fresh=True, **forms)
    context = {"squad": squad, "card": card, **access.squad_flags(request, squad)}
    return render(request, "squads/detail.html#key_result", context)


@require_http_methods(["GET", "HEAD", "POST"])
def key_result_edit(request: AuthedRequest, key: str, kr_key: str) -> HttpResponse:
    squad = _manageable_squad(request, key)
    kr = _key_result_or_404(squad, kr_key)
    conflict = None
    if request.method == "POST":
        data = request.POST
        if data.get("choice") == "mine":
            try:
                data = conflicts.draft_data(data, data.get("draft"), KEY_RESULT_FIELDS)
            except conflicts.UnreadableDraft:
                return HttpResponseBadRequest(conflicts.UNREADABLE_DRAFT)
        form = KeyResultForm(data, instance=kr)
        form.base_version = versioning.posted_version(request.POST)
        if form.is_valid():
            values = form.fields_for_service()
            values.pop("key")
            try:
                services.key_result_update(
                    key_result=kr,
                    **values,
                    by=request.user,
                    version=versioning.posted_version(request.POST),
                    reason=versioning.save_reason(data),
                )
            except versioning.Conflict as stale:
                conflict = _key_result_conflict(stale, form, values, data)
                form = KeyResultForm(instance=kr, initial=_key_result_initial(conflict))
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if request.htmx:
                    return _key_result_response(request, squad, kr)
                messages.success(request, f"Key result “{kr.name}” saved.")
                return redirect(reverse("squads:detail", args=[squad.key]) + f"#kr-{kr.key}")
        kr.refresh_from_db()
    else:
        form = KeyResultForm(instance=kr)
        form.base_version = kr.version
    if request.htmx:
        return _key_result_response(request, squad, kr, edit_form=form, conflict=conflict)
    forms = {"edit_form": form, "conflict": conflict}
    context = _detail_context(request, squad, kr_forms={kr.pk: forms})
    return render(request, "squads/detail.html", context)


KEY_RESULT_FIELDS = ("name", "unit", "baseline", "target", "direction")


def _key_result_conflict(stale: versioning.Conflict, form: KeyResultForm, values: dict, data):
    directions = dict(KeyResult.Direction.choices)

    def show(name: str, value) -> str:
        if value is None or value == "":
            return "—"
        if name == "direction":
            return str(directions.get(value, value))
        if isinstance(value, Decimal):
            return display_number(value)
        return str(value)

    return conflicts.record_conflict(
        stale,
        what="key result",
        draft=values,
        raw_draft={name: data.get(name, "") for name in KEY_RESULT_FIELDS},
        names=KEY_RESULT_FIELDS,
        labels={name: str(form.fields[name].label) for name in KEY_RESULT_FIELDS},
        text_fields=(),
        show=show,
    )


def _key_result_initial(conflict: conflicts.RecordConflict) -> dict:
    initial = dict(conflict.merge.values)
    for name in ("baseline", "target"):
        initial[name] = plain_number(initial.get(name))
    return initial


@require_POST
def check_in(request: AuthedRequest, key: str, kr_key: str) -> HttpResponse:
    squad = _check_in_squad(request, key)
    kr = _key_result_or_404(squad, kr_key)
    form = CheckInForm(request.POST, key_result=kr)
    if form.is_valid():
        try:
            services.check_in_record(
                key_result=kr,
                value=form.cleaned_data["value"],
                confidence=form.cleaned_data["confidence"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if request.htmx:
                return _key_result_response(request, squad, kr)
            messages.success(request, f"Checked in on “{kr.name}”.")
            return redirect(reverse("squads:detail", args=[squad.key]) + f"#kr-{kr.key}")
    if request.htmx:
        return _key_result_response(request, squad, kr, check_in_form=form)
    context = _detail_context(request, squad, kr_forms={kr.pk: {"check_in_form": form}})
    return render(request, "squads/detail.html", context)


# ---------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------
