"""A segment's milestone map (/segments/<key>/milestones/): its time-to-value track, the
milestones' readings, and the forms that change them.

Everyone signed in reads it. Leadership (can_edit_segments) adds, edits, reorders and
removes milestones and sets the feed address; leadership, operations and the segment's
success owner (can_record_milestone_reading) record readings, one at a time or by CSV. A
milestone key of another segment is not found here (404), whoever asks.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import ordering
from core.access import actor_for, can_edit_segments, can_record_milestone_reading
from core.cycles import current_cycle
from core.http import AuthedRequest
from journeys import outcomes, readings
from journeys.forms import (
    FeedForm,
    MilestoneForm,
    NewMilestoneForm,
    ReadingForm,
    ReadingsUploadForm,
)
from journeys.milestone_map import milestone_rows, track
from journeys.models import Milestone, MilestoneReading, Segment

TEMPLATE = "journeys/milestones.html"
READ_ONLY = "Only leadership can change a segment's milestones."
NO_READINGS = (
    "Only leadership, operations and the segment's success owner record its milestones' readings."
)


def _segment(key: str) -> Segment:
    return get_object_or_404(Segment.objects.select_related("success_owner__profile"), key=key)


def _milestone(segment: Segment, milestone_key: str) -> Milestone:
    milestone = get_object_or_404(Milestone, segment=segment, key=milestone_key)
    milestone.segment = segment
    return milestone


def _editor(request: AuthedRequest, key: str) -> Segment:
    segment = _segment(key)
    if not can_edit_segments(actor_for(request)):
        raise PermissionDenied(READ_ONLY)
    return segment


def _recorder(request: AuthedRequest, key: str) -> Segment:
    segment = _segment(key)
    if not can_record_milestone_reading(actor_for(request), segment):
        raise PermissionDenied(NO_READINGS)
    return segment


def _url(segment: Segment, anchor: str = "") -> str:
    url = reverse("journeys:milestones", args=[segment.key])
    return f"{url}#{anchor}" if anchor else url


def _context(request: AuthedRequest, segment: Segment, **state) -> dict:
    actor = actor_for(request)
    can_edit = can_edit_segments(actor)
    can_record = can_record_milestone_reading(actor, segment)
    rows = milestone_rows(segment, cycle=current_cycle(request), actor=actor)
    for row in rows:
        row.version = outcomes.milestone_version(row.milestone)
    moments = outcomes.segment_moments(segment)
    context = {
        "segment": segment,
        "outcome": outcomes.outcome_sentence(segment),
        "rows": rows,
        "track": track(rows, within_days=segment.success_within_days),
        "can_edit": can_edit,
        "can_record": can_record,
        "new_form": NewMilestoneForm(prefix="new", moments=moments) if can_edit else None,
        "upload_form": ReadingsUploadForm(prefix="upload") if can_record else None,
        "feed_form": (
            FeedForm(prefix="feed", initial={"url": segment.milestone_feed_url})
            if can_edit
            else None
        ),
        "journeys": segment.journeys.order_by("name"),
        "nav": "segments",
    }
    context.update(state)
    return context


def _page(request: AuthedRequest, segment: Segment, status: int = 200, **state) -> HttpResponse:
    return render(request, TEMPLATE, _context(request, segment, **state), status=status)


@require_safe
def milestone_map(request: AuthedRequest, key: str) -> HttpResponse:
    return _page(request, _segment(key))


@require_POST
def milestone_new(request: AuthedRequest, key: str) -> HttpResponse:
    segment = _editor(request, key)
    form = NewMilestoneForm(request.POST, prefix="new", moments=outcomes.segment_moments(segment))
    if form.is_valid():
        try:
            milestone = outcomes.milestone_create(segment=segment, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"The milestone {milestone.name} is added.")
            return redirect(_url(segment, f"milestone-{milestone.key}"))
    return _page(request, segment, status=400, new_form=form, new_open=True)


@require_http_methods(["GET", "HEAD", "POST"])
def milestone_edit(request: AuthedRequest, key: str, milestone: str) -> HttpResponse:
    segment = _editor(request, key)
    found = _milestone(segment, milestone)
    moments = outcomes.segment_moments(segment)
    saved = None
    if request.method == "POST":
        version = request.POST.get("version", "")
        form = MilestoneForm(request.POST, prefix="edit", moments=moments)
        if form.is_valid():
            try:
                outcomes.milestone_update(milestone=found, version=version, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
                if getattr(exc, "code", None) == outcomes.STALE:
                    saved = Milestone.objects.filter(pk=found.pk).first()
                    version = outcomes.milestone_version(saved) if saved else version
            else:
                messages.success(request, f"The milestone {found.name} is saved.")
                return redirect(_url(segment, f"milestone-{found.key}"))
    else:
        version = outcomes.milestone_version(found)
        form = MilestoneForm(
            prefix="edit",
            moments=moments,
            initial={
                "name": found.name,
                "expected_day": found.expected_day,
                "description": found.description,
                "moment": found.moment_id,
                "success": found.success,
            },
        )
    state = {"editing": found, "edit_form": form, "edit_version": version, "saved": saved}
    return _page(request, segment, status=400 if form.errors else 200, **state)


@require_POST
def milestone_move(request: AuthedRequest, key: str, milestone: str) -> HttpResponse:
    segment = _editor(request, key)
    found = _milestone(segment, milestone)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        return HttpResponse("Move a milestone up or down.", status=400)
    outcomes.milestone_move(milestone=found, direction=direction)
    return redirect(_url(segment, f"milestone-{found.key}"))


@require_POST
def milestone_order(request: AuthedRequest, key: str) -> HttpResponse:
    """The milestones in the order dragged or moved by keyboard (static/js/reorder.js)."""
    segment = _editor(request, key)
    return ordering.order_answer(
        request,
        lambda keys, was: outcomes.milestone_order_set(segment=segment, keys=keys, was=was),
        back=_url(segment),
    )


@require_http_methods(["GET", "HEAD", "POST"])
def milestone_remove(request: AuthedRequest, key: str, milestone: str) -> HttpResponse:
    """Asks first (GET: what goes with it), then removes it (POST)."""
    segment = _editor(request, key)
    found = _milestone(segment, milestone)
    if request.method == "POST":
        try:
            gone = outcomes.milestone_delete(
                milestone=found, version=request.POST.get("version", "")
            )
        except ValidationError:
            messages.error(
                request,
                f"Someone changed the milestone {found.name} after this page was drawn, so it "
                "was not removed. Here it is as saved now: remove it again if you still want to.",
            )
            return redirect(reverse("journeys:milestone_remove", args=[segment.key, found.key]))
        messages.success(
            request,
            f"The milestone {found.name} is removed, with {gone} "
            f"reading{'s' if gone != 1 else ''}.",
        )
        return redirect(_url(segment))
    context = {
        "segment": segment,
        "milestone": found,
        "version": outcomes.milestone_version(found),
        "reading_count": found.readings.count(),
        "initiative_count": found.initiative_links.count(),
        "nav": "segments",
    }
    return render(request, "journeys/milestone_remove.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def milestone_reading(request: AuthedRequest, key: str, milestone: str) -> HttpResponse:
    """The check-in form of one milestone: a reading for a day (today by default)."""
    segment = _recorder(request, key)
    found = _milestone(segment, milestone)
    if request.method == "POST":
        form = ReadingForm(request.POST, prefix="reading")
        if form.is_valid():
            try:
                replaced = readings.reading_record(
                    milestone=found,
                    source=MilestoneReading.Source.CHECK_IN,
                    by=request.user,
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                what = "replaced that day's reading" if replaced else "recorded"
                messages.success(request, f"The reading of {found.name} is {what}.")
                return redirect(_url(segment, f"milestone-{found.key}"))
    else:
        form = ReadingForm(prefix="reading", initial={"measured_on": timezone.localdate()})
    state = {"reading_for": found, "reading_form": form}
    return _page(request, segment, status=400 if form.errors else 200, **state)


@require_POST
def milestone_upload(request: AuthedRequest, key: str) -> HttpResponse:
    """Readings from a CSV, all or nothing: every problem listed, or the counts."""
    segment = _recorder(request, key)
    form = ReadingsUploadForm(request.POST, request.FILES, prefix="upload")
    problems: list[str] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > readings.IMPORT_MAX_BYTES:
            problems = ["The file is larger than 1 MB: send fewer rows."]
        else:
            try:
                imported = readings.readings_import_csv(
                    segment=segment,
                    data=upload.read(readings.IMPORT_MAX_BYTES + 1),
                    source=MilestoneReading.Source.CSV,
                    by=request.user,
                )
            except ValidationError as exc:
                problems = exc.messages
            else:
                messages.success(request, f"Imported: {imported.summary}")
                return redirect(_url(segment, "readings-upload"))
    state = {"upload_form": form, "upload_problems": problems}
    return _page(request, segment, status=400, **state)


@require_POST
def milestone_feed(request: AuthedRequest, key: str) -> HttpResponse:
    """Set (or clear) the CSV address the segment's readings are pulled from."""
    segment = _editor(request, key)
    form = FeedForm(request.POST, prefix="feed")
    if form.is_valid():
        try:
            outcomes.segment_feed_set(segment=segment, url=form.cleaned_data["url"])
        except ValidationError as exc:
            form.add_error("url", exc.message_dict.get("url", exc.messages))
        else:
            if segment.milestone_feed_url:
                messages.success(request, "The feed address is saved; it is pulled on a schedule.")
            else:
                messages.success(request, "The feed address is cleared; nothing is pulled.")
            return redirect(_url(segment, "feed"))
    return _page(request, segment, status=400, feed_form=form)
