"""The functions page: each function's capacity in the cycle on screen, beside the
headcount that cycle's plans put on it; leadership sets capacity, adds and renames
functions (planning/functions.py).

Everyone signed in reads it, as they read the plans it sums. Each function's row is a
partial: setting a capacity over HTMX redraws that row, a plain form redirects back.
"""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from core import access
from core.cycles import current_cycle
from core.forms import FormWithErrors
from core.http import AuthedRequest
from core.services import FUNCTION_MAX_LENGTH
from core.validators import validate_visible
from planning import functions
from planning.functions import FunctionRow

READ_ONLY = "Only leadership can change functions and their capacity."
TEMPLATE = "planning/functions.html"
NO_CYCLE = "There is no planning cycle yet, so no capacity to set."


def _headcount_field(**kwargs) -> forms.DecimalField:
    return forms.DecimalField(
        label="Full-time people",
        max_digits=8,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0"}),
        error_messages={"invalid": "Give a number such as 4 or 2.5."},
        **kwargs,
    )


class CapacityForm(FormWithErrors):
    function = forms.CharField(widget=forms.HiddenInput, max_length=FUNCTION_MAX_LENGTH)
    # Empty: no capacity, and the review no longer compares the function's plans with one.
    headcount = _headcount_field(required=False)
    was = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20)


class RenameForm(FormWithErrors):
    function = forms.CharField(widget=forms.HiddenInput, max_length=FUNCTION_MAX_LENGTH)
    name = forms.CharField(
        label="New name",
        max_length=FUNCTION_MAX_LENGTH,
        validators=[validate_visible],
        help_text="Profiles, squad memberships, initiatives, capacities and dependencies "
        "that name the function change with it.",
    )


class FunctionAddForm(FormWithErrors):
    name = forms.CharField(
        label="Function", max_length=FUNCTION_MAX_LENGTH, validators=[validate_visible]
    )
    headcount = _headcount_field(help_text="How many full-time people it can staff.")


def dom_id(name: str) -> str:
    """A row's id on the page, from the function's name (which may hold any character)."""
    return "function-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _auto_id(name: str, form: str) -> str:
    """Each row's forms have fields of the same names; their ids on the page differ."""
    return f"{dom_id(name)}-{form}-%s"


def _forms_for(row: FunctionRow, bound: dict | None = None) -> FunctionRow:
    row.dom_id = dom_id(row.name)
    bound = bound or {}
    row.capacity_form = bound.get("capacity") or CapacityForm(
        auto_id=_auto_id(row.name, "capacity"),
        initial={"function": row.name, "headcount": row.capacity_text, "was": row.capacity_text},
    )
    row.rename_form = bound.get("rename") or RenameForm(
        auto_id=_auto_id(row.name, "rename"), initial={"function": row.name, "name": row.name}
    )
    row.rename_open = "rename" in bound
    return row


def _context(request: AuthedRequest, *, bound_for: str = "", bound: dict | None = None, **more):
    cycle = current_cycle(request)
    can_edit = access.can_edit_capacity(access.actor_for(request))
    rows = functions.function_rows(cycle)
    page_errors: list[str] = []
    if can_edit:
        rows = [_forms_for(r, bound if r.name == bound_for else None) for r in rows]
        if bound and not any(r.name == bound_for for r in rows):
            # The function is gone (renamed meanwhile): say so above the table.
            for form in bound.values():
                page_errors.extend(e for errors in form.errors.values() for e in errors)
    else:
        for row in rows:
            row.dom_id = dom_id(row.name)
    context = {
        "cycle": cycle,
        "rows": rows,
        "over": [r for r in rows if r.over is not None],
        "can_edit": can_edit and cycle is not None,
        "add_form": FunctionAddForm(auto_id="add_%s") if can_edit else None,
        "page_errors": page_errors,
        "nav": "functions",
    }
    context.update(more)
    return context


def _rw(request: AuthedRequest):
    if not access.can_edit_capacity(access.actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    cycle = current_cycle(request)
    if cycle is None:
        raise PermissionDenied(NO_CYCLE)
    return cycle


def _back(row_name: str = "") -> HttpResponse:
    url = reverse("functions")
    return redirect(f"{url}#{dom_id(row_name)}" if row_name else url)


@require_safe
def function_list(request: AuthedRequest) -> HttpResponse:
    return render(request, TEMPLATE, _context(request))


@require_POST
def function_add(request: AuthedRequest) -> HttpResponse:
    cycle = _rw(request)
    form = FunctionAddForm(request.POST, auto_id="add_%s")
    if form.is_valid():
        try:
            capacity = functions.function_add(
                cycle=cycle,
                name=form.cleaned_data["name"],
                headcount=form.cleaned_data["headcount"],
                by=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            people = functions.plain_headcount(capacity.headcount)
            messages.success(
                request,
                f"{capacity.function} is added, with {people} full-time people in {cycle.name}.",
            )
            return _back(capacity.function)
    return render(request, TEMPLATE, _context(request, add_form=form), status=400)


def _row_response(request: AuthedRequest, name: str, *, bound: dict | None = None, status=200):
    context = _context(request, bound_for=name, bound=bound)
    row = next((r for r in context["rows"] if r.name == name), None)
    if row is None:
        return render(request, TEMPLATE, context, status=status)
    return render(request, f"{TEMPLATE}#row", {**context, "row": row}, status=status)


@require_POST
def capacity_set(request: AuthedRequest) -> HttpResponse:
    cycle = _rw(request)
    function = request.POST.get("function", "")
    form = CapacityForm(request.POST, auto_id=_auto_id(function, "capacity"))
    if form.is_valid():
        try:
            functions.capacity_set(
                cycle=cycle,
                function=form.cleaned_data["function"],
                headcount=form.cleaned_data["headcount"],
                was=form.cleaned_data["was"],
                by=request.user,
            )
        except ValidationError as error:
            if getattr(error, "code", None) == functions.STALE:
                # Offer to save over what is there now: the person's number stays typed.
                data = request.POST.copy()
                now = next((r for r in functions.function_rows(cycle) if r.name == function), None)
                data["was"] = now.capacity_text if now else ""
                form = CapacityForm(data, auto_id=_auto_id(function, "capacity"))
                form.is_valid()
            form.add_service_errors(error)
        else:
            if request.htmx:
                return _row_response(request, function)
            messages.success(request, f"Capacity of {function} in {cycle.name} saved.")
            return _back(function)
    bound = {"capacity": form}
    if request.htmx:
        return _row_response(request, function, bound=bound, status=400)
    context = _context(request, bound_for=function, bound=bound)
    return render(request, TEMPLATE, context, status=400)


@require_POST
def function_rename(request: AuthedRequest) -> HttpResponse:
    _rw(request)
    function = request.POST.get("function", "")
    form = RenameForm(request.POST, auto_id=_auto_id(function, "rename"))
    if form.is_valid():
        old, new = form.cleaned_data["function"], form.cleaned_data["name"]
        try:
            counts = functions.function_rename(old=old, new=new, by=request.user)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, functions.rename_summary(old, new.strip(), counts))
            return _back(" ".join(new.split()))
    context = _context(request, bound_for=function, bound={"rename": form})
    return render(request, TEMPLATE, context, status=400)
