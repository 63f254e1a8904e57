"""People: the directory everyone reads, a person's page, and leadership's set-up of people
(invitations, deactivating and reactivating, function and groups), plus the sign-up page
an invitation's link opens.

The writes are core.services'; who may is core.access's (`can_manage_people`,
`can_manage_person`). The directory shows the squads of the cycle on screen, so it lives in
the top layer with the other pages that show several apps.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login, password_validation
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Prefetch, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import access, services
from core.cycles import current_cycle
from core.forms import FormWithErrors
from core.http import AuthedRequest
from core.limits import over_invitation_limit
from core.models import Invitation, Profile
from core.people import display_name
from core.services import FUNCTION_MAX_LENGTH, GROUPS
from planning.functions import function_names
from squads.forms import DatalistInput
from squads.models import Membership, Squad

User = get_user_model()

PAGE_SIZE = 50
READ_ONLY = "Only leadership and administrators can manage people."
ADMINS_ONLY = "Only an administrator can change an administrator's account."
ADMINISTRATORS = "Administrators"
STATUS_CHOICES = [("", "Everyone"), ("active", "Active"), ("deactivated", "Deactivated")]


# ---------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------


class DirectoryFilterForm(forms.Form):
    function = forms.ChoiceField(label="Function", required=False)
    group = forms.ChoiceField(
        label="Group",
        required=False,
        choices=[("", "Any group"), *((g, g) for g in GROUPS), (ADMINISTRATORS, ADMINISTRATORS)],
    )
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)

    def __init__(self, *args, functions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["function"].choices = [("", "Any function"), *((f, f) for f in functions)]


class InviteForm(FormWithErrors):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="They get a link to make their account, which works once within a few days.",
    )


class RolesForm(FormWithErrors):
    function = forms.CharField(
        label="Function",
        required=False,
        max_length=FUNCTION_MAX_LENGTH,
        widget=DatalistInput(),
        help_text="The department they work in; leave empty for none.",
    )
    groups = forms.MultipleChoiceField(
        label="Groups",
        required=False,
        choices=[(g, g) for g in GROUPS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Leadership maps the journey, forms squads and manages people; operations "
        "runs the dependency board and the review.",
    )
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, functions=(), **kwargs):
        kwargs.setdefault("auto_id", "roles_%s")
        super().__init__(*args, **kwargs)
        self.fields["function"].widget.options = functions


class SignupForm(FormWithErrors):
    display_name = forms.CharField(
        label="Your name",
        max_length=services.NAME_MAX_LENGTH,
        help_text="As your colleagues will see it, e.g. Ada Okafor.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="What you sign in with: letters, digits and @ . + - _ only.",
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_again = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password_again") != data["password"]:
            self.add_error("password_again", "The two passwords differ.")
        return data


# ---------------------------------------------------------------------------------------
# The directory
# ---------------------------------------------------------------------------------------


def _profile_functions() -> list[str]:
    names = (
        Profile.objects.exclude(function="")
        .order_by()
        .values_list("function", flat=True)
        .distinct()
    )
    return sorted(set(names), key=lambda name: (name.casefold(), name))


def _directory(filters: dict, cycle) -> object:
    """Everyone, by name, with their groups and their squads in `cycle`, filtered."""
    people = User.objects.select_related("profile").prefetch_related(
        Prefetch("groups", queryset=Group.objects.filter(name__in=GROUPS).order_by("name")),
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(squad__cycle=cycle, squad__removal__isnull=True)
            .select_related("squad")
            .order_by("squad__name"),
            to_attr="cycle_memberships",
        ),
    )
    if filters.get("function"):
        people = people.filter(profile__function=filters["function"])
    if filters.get("group") == ADMINISTRATORS:
        people = people.filter(is_superuser=True)
    elif filters.get("group"):
        people = people.filter(groups__name=filters["group"])
    if filters.get("status") == "active":
        people = people.filter(is_active=True)
    elif filters.get("status") == "deactivated":
        people = people.filter(is_active=False)
    name = Lower(Coalesce(NullIf(F("profile__display_name"), Value("")), F("username")))
    return people.order_by(name, "username", "pk")


def _page_url(request: AuthedRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return "?" + urlencode(sorted(query.items()))


def _people_context(request: AuthedRequest, *, invite_form=None) -> dict:
    cycle = current_cycle(request)
    actor = access.actor_for(request)
    filter_form = DirectoryFilterForm(request.GET or None, functions=_profile_functions())
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    paginator = Paginator(_directory(filters, cycle), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    for person in page.object_list:
        person.name = display_name(person)
        person.squads_here = [
            (m.squad, m.squad.dri_id == person.pk) for m in person.cycle_memberships
        ]
    can_manage = access.can_manage_people(actor)
    context = {
        "cycle": cycle,
        "page": page,
        "filter_form": filter_form,
        "filtered": bool(filters and any(filters.values())),
        "previous_url": _page_url(request, page.previous_page_number())
        if page.has_previous()
        else "",
        "next_url": _page_url(request, page.next_page_number()) if page.has_next() else "",
        "can_manage": can_manage,
        "nav": "people",
    }
    if can_manage:
        context["now"] = timezone.now()
        context["invite_form"] = invite_form or InviteForm()
        context["invitations"] = list(
            Invitation.objects.filter(accepted_at__isnull=True)
            .select_related("invited_by__profile")
            .order_by("-sent_at", "id")[:100]
        )
    return context


@require_safe
def people(request: AuthedRequest) -> HttpResponse:
    return render(request, "planning/people.html", _people_context(request))


# ---------------------------------------------------------------------------------------
# Invitations
# ---------------------------------------------------------------------------------------


def _manager(request: AuthedRequest) -> access.Actor:
    actor = access.actor_for(request)
    if not access.can_manage_people(actor):
        raise PermissionDenied(READ_ONLY)
    return actor


def _over_limit(request: AuthedRequest) -> str | None:
    over = over_invitation_limit(request.user)
    return over[1] if over else None


@require_POST
def invitation_send(request: AuthedRequest) -> HttpResponse:
    _manager(request)
    form = InviteForm(request.POST)
    status = 400
    if form.is_valid():
        if message := _over_limit(request):
            form.add_error(None, message)
            status = 429
        else:
            try:
                invitation = services.invitation_send(
                    email=form.cleaned_data["email"], by=request.user
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(
                    request,
                    f"Invitation sent to {invitation.email}. The link in it works once, for "
                    f"{_days_left(invitation)}.",
                )
                return redirect(reverse("people") + "#invitations")
    context = _people_context(request, invite_form=form)
    return render(request, "planning/people.html", context, status=status)


def _days_left(invitation: Invitation) -> str:
    days = round((invitation.expires_at - invitation.sent_at).total_seconds() / 86400)
    return "1 day" if days == 1 else f"{days} days"


def _open_invitation(request: AuthedRequest, pk: int) -> Invitation:
    """An open invitation, for those who manage people; 404 for everyone else, who never
    see invitations."""
    if not access.can_manage_people(access.actor_for(request)):
        raise Http404("No such invitation.")
    return get_object_or_404(Invitation, pk=pk, accepted_at__isnull=True)


@require_POST
def invitation_resend(request: AuthedRequest, pk: int) -> HttpResponse:
    invitation = _open_invitation(request, pk)
    if message := _over_limit(request):
        messages.error(request, message)
        return redirect(reverse("people") + "#invitations")
    try:
        services.invitation_resend(invitation=invitation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"A new link is on its way to {invitation.email}; the one sent before no longer works.",
        )
    return redirect(reverse("people") + "#invitations")


@require_POST
def invitation_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    invitation = _open_invitation(request, pk)
    try:
        services.invitation_cancel(invitation=invitation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"The invitation to {invitation.email} is withdrawn: its link no longer works."
        )
    return redirect(reverse("people") + "#invitations")


# ---------------------------------------------------------------------------------------
# One person
# ---------------------------------------------------------------------------------------


def _person(username: str):
    return get_object_or_404(User.objects.select_related("profile"), username=username)


def _person_context(request: AuthedRequest, person, *, roles_form=None) -> dict:
    actor = access.actor_for(request)
    memberships = list(
        Membership.objects.filter(person=person, squad__removal__isnull=True)
        .select_related("squad__cycle")
        .order_by("-squad__cycle__starts", "squad__name")
    )
    led = [m.squad for m in memberships if m.squad.dri_id == person.pk]
    can_manage = access.can_manage_person(actor, person)
    context = {
        "person": person,
        "name": display_name(person),
        "profile": getattr(person, "profile", None),
        "groups": services.person_groups(person),
        "memberships": memberships,
        "led": led,
        "is_self": person.pk == request.user.pk,
        "can_manage": can_manage,
        "sees_email": access.can_manage_people(actor) or person.pk == request.user.pk,
        "nav": "people",
    }
    if can_manage:
        context["roles_form"] = roles_form or RolesForm(
            initial={
                "function": context["profile"].function if context["profile"] else "",
                "groups": context["groups"],
                "version": services.person_roles_version(person),
            },
            functions=function_names(),
        )
    return context


@require_safe
def person_detail(request: AuthedRequest, username: str) -> HttpResponse:
    person = _person(username)
    return render(request, "planning/person.html", _person_context(request, person))


def _managed_person(request: AuthedRequest, username: str):
    """The person, for a change to their account: 404 when there is none, then 403."""
    person = _person(username)
    actor = _manager(request)
    if not access.can_manage_person(actor, person):
        raise PermissionDenied(ADMINS_ONLY)
    return person


@require_POST
def person_roles(request: AuthedRequest, username: str) -> HttpResponse:
    person = _managed_person(request, username)
    form = RolesForm(request.POST, functions=function_names())
    if form.is_valid():
        try:
            services.person_set_roles(
                person=person,
                function=form.cleaned_data["function"],
                groups=form.cleaned_data["groups"],
                version=form.cleaned_data["version"] or "",
                by=request.user,
            )
        except ValidationError as error:
            if getattr(error, "code", None) == services.STALE:
                # Saving again replaces what is there now; the person's choice stays.
                data = request.POST.copy()
                data["version"] = services.person_roles_version(person)
                form = RolesForm(data, functions=function_names())
                form.is_valid()
            form.add_service_errors(error)
        else:
            messages.success(request, f"{display_name(person)}'s function and groups are saved.")
            return redirect("person", username=person.username)
    context = _person_context(request, person, roles_form=form)
    return render(request, "planning/person.html", context, status=400)


@require_POST
def person_deactivate(request: AuthedRequest, username: str) -> HttpResponse:
    person = _managed_person(request, username)
    name = display_name(person)
    try:
        changed = services.person_deactivate(person=person, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("person", username=person.username)
    if changed:
        messages.success(
            request, f"{name} is deactivated: they cannot sign in, and their sessions ended."
        )
        led = list(
            Squad.objects.filter(dri=person).select_related("cycle").order_by("-cycle__starts")
        )
        if led:
            squads = ", ".join(f"{s.name} ({s.cycle.name})" for s in led)
            messages.warning(
                request,
                f"{name} is the DRI of {squads}: "
                f"{'that squad needs' if len(led) == 1 else 'those squads need'} a new DRI. "
                "Hand the role over on the squad's page.",
            )
    else:
        messages.info(request, f"{name} was deactivated already.")
    return redirect("person", username=person.username)


@require_POST
def person_reactivate(request: AuthedRequest, username: str) -> HttpResponse:
    person = _managed_person(request, username)
    name = display_name(person)
    if services.person_reactivate(person=person, by=request.user):
        messages.success(request, f"{name} is active again and can sign in.")
    else:
        messages.info(request, f"{name} was active already.")
    return redirect("person", username=person.username)


# ---------------------------------------------------------------------------------------
# Signing up from an invitation
# ---------------------------------------------------------------------------------------


def _suggested_username(email: str) -> str:
    local = email.split("@", 1)[0]
    kept = "".join(c for c in local if c.isalnum() or c in "._-+")[:150]
    if not kept or User.objects.filter(username__iexact=kept).exists():
        return ""
    return kept


# The sign-up in progress: the digest of the link's token (never the token itself, which
# would then be stored with the session). The form lives at an address without the token,
# as Django's own password reset does, so neither the sign-in it ends with (which django-axes
# records with its path) nor any Referer carries the token.
SIGNUP_SESSION_KEY = "throughline_signup"


def _private(response: HttpResponse, *, secret_address: bool = False) -> HttpResponse:
    """Kept out of caches: these pages are reached from a secret link. An answer at the
    link's own address also keeps it out of Referer headers. (The form's page does not:
    under no-referrer a browser posts with `Origin: null`, which CSRF protection refuses.)"""
    if secret_address:
        response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, private=True, no_store=True)
    return response


def _refused(
    request: AuthedRequest, invitation: Invitation | None, problem: str, **private
) -> HttpResponse:
    status = 404 if invitation is None else 410
    page = render(request, "registration/signup.html", {"problem": problem}, status=status)
    return _private(page, **private)


def _signed_in_already(request: AuthedRequest) -> HttpResponse:
    # Making a second account from inside the first one would be a mix-up: sign out first
    # (which ends this session, and the sign-up it remembers, too).
    context = {"signed_in_as": display_name(request.user)}
    return _private(render(request, "registration/signup.html", context))


@login_not_required
@require_safe
def signup(request: AuthedRequest, token: str) -> HttpResponse:
    """The invitation's link: remembers it for this browser, then on to the form."""
    invitation = services.invitation_for_token(token)
    if problem := services.invitation_problem(invitation):
        return _refused(request, invitation, problem, secret_address=True)
    request.session[SIGNUP_SESSION_KEY] = invitation.token_digest
    return _private(redirect("signup_form"), secret_address=True)


NO_SIGNUP = (
    "No invitation is open in this browser. Open the link in your invitation email to make "
    "your account."
)


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def signup_form(request: AuthedRequest) -> HttpResponse:
    """Name, username and password for the account an invitation's link opened."""
    digest = request.session.get(SIGNUP_SESSION_KEY, "")
    invitation = services.invitation_for_digest(digest)
    if digest and invitation is None:
        problem = services.LINK_NOT_VALID
    else:
        problem = NO_SIGNUP if not digest else services.invitation_problem(invitation)
    if problem:
        return _refused(request, None if problem == NO_SIGNUP else invitation, problem)
    if request.user.is_authenticated:
        return _signed_in_already(request)
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.invitation_accept(
                    digest=digest,
                    display_name=data["display_name"],
                    username=data["username"],
                    password=data["password"],
                )
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    return _refused(request, invitation, " ".join(error.messages))
                form.add_service_errors(error)
            else:
                del request.session[SIGNUP_SESSION_KEY]
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request, f"Welcome to Throughline, {display_name(user)}. You are signed in."
                )
                return redirect("home")
    else:
        form = SignupForm(initial={"username": _suggested_username(invitation.email)})
    context = {"invitation": invitation, "form": form}
    status = 400 if form.errors else 200
    return _private(render(request, "registration/signup.html", context, status=status))
