"""Customer segments: the list everyone reads, and leadership's edits.

A segment is a group of customers (the ideal customer profile and its neighbours) that
journeys say matter most and initiatives aim at. Leadership creates, renames, describes and
orders them here; deleting one that an initiative or a journey names is refused, since they
would lose it without a word. Each segment's row is a partial: an HTMX request gets the row
it changed, a plain one the whole page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.access import actor_for, can_edit_segments
from core.http import AuthedRequest
from journeys import outcomes, services
from journeys.forms import NewSegmentForm, OutcomeForm, SegmentForm
from journeys.models import Journey, Segment

READ_ONLY = "Only leadership can change the customer segments."
TEMPLATE = "journeys/segments.html"


def _segments() -> list[Segment]:
    """Every segment, the ones that matter most first, with what uses them: two queries."""
    segments = list(
        Segment.objects.annotate(
            initiative_count=Count("initiatives", distinct=True),
            milestone_count=Count("milestones", distinct=True),
        )
        .select_related("success_owner__profile")
        .prefetch_related(Prefetch("journeys", queryset=Journey.objects.order_by("name")))
        .order_by(F("priority").asc(nulls_last=True), "name", "id")
    )
    for segment in segments:
        segment.version = services.segment_version(segment)
        segment.outcome = outcomes.outcome_sentence(segment)
    return segments


def _context(request: AuthedRequest, **state) -> dict:
    can_edit = can_edit_segments(actor_for(request))
    context = {
        "segments": _segments(),
        "can_edit": can_edit,
        "form": NewSegmentForm(prefix="segment") if can_edit else None,
        "nav": "segments",
    }
    context.update(state)
    return context


def _segment_rw(request: AuthedRequest, key: str) -> Segment:
    segment = get_object_or_404(Segment, key=key)
    if not can_edit_segments(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    return segment


def _list_url(segment: Segment | None = None) -> str:
    url = reverse("segments")
    return f"{url}#segment-{segment.pk}" if segment is not None else url


@require_http_methods(["GET", "HEAD", "POST"])
def segment_list(request: AuthedRequest) -> HttpResponse:
    """Every segment; leadership also creates one here."""
    if request.method != "POST":
        return render(request, TEMPLATE, _context(request))
    if not can_edit_segments(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    form = NewSegmentForm(request.POST, prefix="segment")
    if form.is_valid():
        try:
            segment = services.segment_create(**form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The segment {segment.name} is added.")
            return redirect(_list_url(segment))
    return render(request, TEMPLATE, _context(request, form=form, form_open=True), status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def segment_edit(request: AuthedRequest, key: str) -> HttpResponse:
    """A segment's row in edit mode (GET), or saved (POST)."""
    segment = _segment_rw(request, key)
    saved = None
    if request.method == "POST":
        version = request.POST.get("version", "")
        form = SegmentForm(request.POST, prefix=f"edit-{segment.pk}")
        if form.is_valid():
            try:
                services.segment_update(segment=segment, version=version, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == services.STALE:
                    # Show what the other person saved; saving again keeps this version.
                    saved = Segment.objects.filter(pk=segment.pk).first()
                    version = services.segment_version(saved) if saved else version
            else:
                if not request.htmx:
                    messages.success(request, f"The segment {segment.name} is saved.")
                    return redirect(_list_url(segment))
                return _row(request, segment.key)
    else:
        version = services.segment_version(segment)
        form = SegmentForm(
            prefix=f"edit-{segment.pk}",
            initial={
                "name": segment.name,
                "description": segment.description,
                "priority": segment.priority,
            },
        )
    state = {"editing": segment.pk, "edit_form": form, "edit_version": version, "saved": saved}
    status = 400 if form.errors else 200
    if request.htmx:
        context = _context(request, **state)
        context["segment"] = _one(context["segments"], segment.key)
        return render(request, f"{TEMPLATE}#segment", context, status=status)
    return render(request, TEMPLATE, _context(request, **state), status=status)


def _one(segments: list[Segment], key: str) -> Segment:
    found = next((s for s in segments if s.key == key), None)
    if found is None:
        raise Http404("No such segment.")
    return found


def _row(request: AuthedRequest, key: str) -> HttpResponse:
    context = _context(request)
    context["segment"] = _one(context["segments"], key)
    return render(request, f"{TEMPLATE}#segment", context)


@require_POST
def segment_delete(request: AuthedRequest, key: str) -> HttpResponse:
    segment = _segment_rw(request, key)
    try:
        services.segment_delete(segment=segment, version=request.POST.get("version", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_list_url(segment))
    messages.success(request, f"The segment {segment.name} is deleted.")
    return redirect(_list_url())


@require_http_methods(["GET", "HEAD", "POST"])
def segment_outcome(request: AuthedRequest, key: str) -> HttpResponse:
    """A segment's success outcome in edit mode (GET), or saved (POST)."""
    segment = _segment_rw(request, key)
    saved = None
    prefix = f"outcome-{segment.pk}"
    if request.method == "POST":
        version = request.POST.get("version", "")
        form = OutcomeForm(request.POST, prefix=prefix, owner_id=segment.success_owner_id)
        if form.is_valid():
            try:
                outcomes.segment_outcome_set(segment=segment, version=version, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == outcomes.STALE:
                    saved = Segment.objects.filter(pk=segment.pk).first()
                    if saved is not None:
                        version = outcomes.outcome_version(saved)
                        saved.outcome = outcomes.outcome_sentence(saved) or "No success outcome"
            else:
                if not request.htmx:
                    messages.success(request, f"The success outcome of {segment.name} is saved.")
                    return redirect(_list_url(segment))
                return _row(request, segment.key)
    else:
        version = outcomes.outcome_version(segment)
        form = OutcomeForm(
            prefix=prefix,
            owner_id=segment.success_owner_id,
            initial={
                "metric": segment.success_metric,
                "threshold": outcomes.plain_decimal(segment.success_threshold),
                "unit": segment.success_unit,
                "within_days": segment.success_within_days,
                "owner": segment.success_owner_id,
            },
        )
    state = {
        "outcome_editing": segment.pk,
        "outcome_form": form,
        "outcome_version": version,
        "outcome_saved": saved,
    }
    status = 400 if form.errors else 200
    if request.htmx:
        context = _context(request, **state)
        context["segment"] = _one(context["segments"], segment.key)
        return render(request, f"{TEMPLATE}#segment", context, status=status)
    return render(request, TEMPLATE, _context(request, **state), status=status)
