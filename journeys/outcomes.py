"""Segments' success outcomes and their time-to-value milestone maps: the writes.

A segment's success outcome reads as one sentence ("80% of seats active within 60 days");
its milestones are the steps customers take towards it, each expected by a day from the
customer's start. How customers are doing at each (its readings) is journeys/readings.py;
the feed address they may be pulled from is set here and pulled by journeys/milestone_feed.py.

Every function validates, writes inside one transaction and raises ValidationError with
per-field messages when it refuses.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core import ordering
from core.keys import key_problem
from core.numbers import plain_number
from core.people import display_name
from journeys.models import Milestone, Moment, Segment
from journeys.services import fingerprint

STALE = "stale"
WITHIN_DAYS_MAX = 3650
EXPECTED_DAY_MAX = 3650


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _stale(what: str) -> ValidationError:
    return ValidationError(
        f"Someone else saved this {what} after you opened it. Your entries are still here: "
        "compare them with the saved version below, then save again to keep yours.",
        code=STALE,
    )


plain_decimal = plain_number


# ---------------------------------------------------------------------------------------
# The success outcome
# ---------------------------------------------------------------------------------------

OUTCOME_FIELDS = (
    "success_metric",
    "success_threshold",
    "success_unit",
    "success_within_days",
    "success_owner_id",
)


def outcome_version(segment: Segment) -> str:
    """The version of a segment's success outcome as an editor showed it."""
    values = {name: getattr(segment, name) for name in OUTCOME_FIELDS}
    values["success_threshold"] = plain_decimal(segment.success_threshold)  # 80 is 80.00
    return fingerprint(values, OUTCOME_FIELDS)


def rate_threshold(unit: str | None) -> bool:
    """Whether a success threshold in `unit` is a share of customers, so a milestone's
    completion rate is compared with it: "%" or no unit at all ("80 of seats active")."""
    return (unit or "").strip() in ("", "%")


def outcome_sentence(segment: Segment, *, owner: bool = True) -> str:
    """ "80% of seats active within 60 days — owner Priya Shah" ("… within 60 days" without
    `owner`); "" when none is set. The one wording of an outcome: pages, API and goals."""
    if not segment.success_metric or segment.success_threshold is None:
        return ""
    unit = segment.success_unit or ""
    # A sign ("%") sits on the number; a word ("seats") after a space.
    joiner = "" if not unit or not unit[:1].isalnum() else " "
    sentence = f"{plain_decimal(segment.success_threshold)}{joiner}{unit} {segment.success_metric}"
    if segment.success_within_days:
        days = segment.success_within_days
        sentence += f" within {days} day{'s' if days != 1 else ''}"
    if owner and segment.success_owner_id is not None:
        sentence += f" — owner {display_name(segment.success_owner)}"
    return sentence


def segment_outcome_set(
    *,
    segment: Segment,
    version: str,
    metric: str,
    threshold: Decimal | None,
    unit: str = "",
    within_days: int | None,
    owner=None,
) -> Segment:
    """Set (or clear, all blank) a segment's success outcome, if it is still as the editor
    saw it (`outcome_version`). Metric, threshold and days come together or not at all."""
    metric, unit = (metric or "").strip(), (unit or "").strip()
    errors: dict[str, list[str]] = {}
    given = {
        "metric": bool(metric),
        "threshold": threshold is not None,
        "within_days": within_days is not None,
    }
    if any(given.values()) and not all(given.values()):
        for name, present in given.items():
            if not present:
                errors.setdefault(name, []).append(
                    "Give the metric, the threshold and the days together, or leave all three "
                    "blank."
                )
    if threshold is not None and threshold < 0:
        errors.setdefault("threshold", []).append("The threshold cannot be negative.")
    if threshold is not None and abs(threshold) >= Decimal("1e10"):
        errors.setdefault("threshold", []).append("Use a number below 10,000,000,000.")
    if within_days is not None and not 1 <= within_days <= WITHIN_DAYS_MAX:
        errors.setdefault("within_days", []).append(
            f"Use a whole number of days from 1 to {WITHIN_DAYS_MAX}."
        )
    if len(metric) > 200:
        errors.setdefault("metric", []).append("Use at most 200 characters.")
    if len(unit) > 20:
        errors.setdefault("unit", []).append("Use at most 20 characters.")
    if not any(given.values()) and (unit or owner is not None):
        errors.setdefault("metric", []).append(
            "Say what is measured, the threshold and the days, or leave the unit and the owner "
            "blank too."
        )
    _raise(errors)
    values = {
        "success_metric": metric,
        "success_threshold": threshold,
        "success_unit": unit,
        "success_within_days": within_days,
        "success_owner": owner,
    }
    with transaction.atomic():
        current = Segment.objects.select_for_update().filter(pk=segment.pk).first()
        if current is None:
            raise ValidationError("This segment was deleted after you opened it.")
        if version != outcome_version(current):
            raise _stale("success outcome")
        Segment.objects.filter(pk=segment.pk).update(**values)
    for name, value in values.items():
        setattr(segment, name, value)
    return segment


# ---------------------------------------------------------------------------------------
# Milestones
# ---------------------------------------------------------------------------------------

MILESTONE_FIELDS = ("name", "description", "expected_day", "moment_id", "success")


def milestone_version(milestone: Milestone) -> str:
    return fingerprint(milestone, MILESTONE_FIELDS)


def segment_moments(segment: Segment):
    """The moments a segment's milestones may be tied to: those of the live stages of the
    live journeys the segment is in, in journey order."""
    return (
        Moment.objects.filter(
            stage__journey__segments=segment,
            stage__removal__isnull=True,
            stage__journey__removal__isnull=True,
        )
        .select_related("stage__journey")
        .order_by("stage__journey__name", "stage__journey_id", "stage__position", "offset_days")
        .distinct()
    )


def _milestone_values(
    *,
    segment: Segment,
    name: str,
    description: str,
    expected_day: int | None,
    moment: Moment | None,
    success: bool,
) -> dict:
    values = {
        "name": (name or "").strip(),
        "description": (description or "").strip(),
        "expected_day": expected_day,
        "moment": moment,
        "success": bool(success),
    }
    errors: dict[str, list[str]] = {}
    if not values["name"]:
        errors["name"] = ["Name the milestone."]
    elif len(values["name"]) > 200:
        errors["name"] = ["Use at most 200 characters."]
    if expected_day is None:
        errors["expected_day"] = ["Say by which day customers should reach it."]
    elif not 0 <= expected_day <= EXPECTED_DAY_MAX:
        errors["expected_day"] = [f"Use a whole number of days from 0 to {EXPECTED_DAY_MAX}."]
    if moment is not None and not segment_moments(segment).filter(pk=moment.pk).exists():
        errors["moment"] = ["Choose a moment of a journey this segment is in."]
    _raise(errors)
    return values


def _clear_other_success(segment: Segment, keep_pk: int | None) -> None:
    for other in Milestone.objects.filter(segment=segment, success=True).exclude(pk=keep_pk):
        # One by one, so each change is recorded like any other save.
        other.success = False
        other.save(update_fields=["success"])


def milestone_create(
    *,
    segment: Segment,
    key: str = "",
    name: str,
    description: str = "",
    expected_day: int | None,
    moment: Moment | None = None,
    success: bool = False,
) -> Milestone:
    """A new milestone on the segment's map, after the others; marking it the success
    milestone takes the mark from the one that had it, in the same transaction."""
    from journeys.services import key_from_name

    errors: dict[str, list[str]] = {}
    try:
        values = _milestone_values(
            segment=segment,
            name=name,
            description=description,
            expected_day=expected_day,
            moment=moment,
            success=success,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
        values = {}
    key = (key or "").strip()
    if key:
        if problem := key_problem(key):
            errors["key"] = [problem]
    elif (name or "").strip():
        key = key_from_name(name.strip())
        if not key or key_problem(key):
            errors["key"] = ["The name has no letters or digits to make a key from; type one."]
    if key and "key" not in errors and Milestone.objects.filter(segment=segment, key=key).exists():
        errors["key"] = [f'This segment already has a milestone with key "{key}".']
    _raise(errors)
    try:
        with transaction.atomic():
            Segment.objects.select_for_update().filter(pk=segment.pk).first()
            last = Milestone.objects.filter(segment=segment).aggregate(last=Max("position"))
            position = 0 if last["last"] is None else last["last"] + 1
            if values["success"]:
                _clear_other_success(segment, None)
            return Milestone.objects.create(segment=segment, key=key, position=position, **values)
    except IntegrityError as exc:
        raise ValidationError(
            {"key": [f'This segment already has a milestone with key "{key}".']}
        ) from exc


def milestone_update(
    *,
    milestone: Milestone,
    version: str,
    name: str,
    description: str = "",
    expected_day: int | None,
    moment: Moment | None = None,
    success: bool = False,
) -> Milestone:
    """Change a milestone if it is still as the editor saw it (`milestone_version`)."""
    values = _milestone_values(
        segment=milestone.segment,
        name=name,
        description=description,
        expected_day=expected_day,
        moment=moment,
        success=success,
    )
    with transaction.atomic():
        current = Milestone.objects.select_for_update().filter(pk=milestone.pk).first()
        if current is None:
            raise ValidationError("This milestone was removed after you opened it.")
        if version != milestone_version(current):
            raise _stale("milestone")
        if values["success"]:
            _clear_other_success(milestone.segment, milestone.pk)
        for name_, value in values.items():
            setattr(current, name_, value)
        current.save(update_fields=list(values))
    for name_, value in values.items():
        setattr(milestone, name_, value)
    return milestone


def milestone_move(*, milestone: Milestone, direction: Literal["up", "down"]) -> bool:
    """Swap a milestone with its neighbour in the segment's list; False at that end."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": ["Move a milestone up or down."]})
    with transaction.atomic():
        milestones = list(
            Milestone.objects.select_for_update()
            .filter(segment_id=milestone.segment_id)
            .order_by("position", "expected_day", "id")
        )
        index = next((i for i, m in enumerate(milestones) if m.pk == milestone.pk), None)
        if index is None:
            raise ValidationError("This milestone was removed meanwhile.")
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(milestones):
            return False
        milestones[index], milestones[other] = milestones[other], milestones[index]
        for position, each in enumerate(milestones):
            if each.position != position:
                each.position = position
                each.save(update_fields=["position"])
    return True


def milestone_order_set(*, segment: Segment, keys: list[str], was: list[str]) -> list[str]:
    """Put the segment's milestones (or some of them) in this order on its map; all its keys
    as now ordered. Refused, with nothing moved, as core.ordering.reordered says."""
    with transaction.atomic():
        milestones = list(
            Milestone.objects.select_for_update()
            .filter(segment_id=segment.pk)
            .order_by("position", "expected_day", "id")
        )
        order = ordering.reordered([m.key for m in milestones], keys=keys, was=was)
        ordering.renumber(Milestone, milestones, order)
    return order


def milestone_delete(*, milestone: Milestone, version: str) -> int:
    """Delete a milestone and its readings, if it is still as the page that asked showed it.
    Returns how many readings went with it."""
    with transaction.atomic():
        current = Milestone.objects.select_for_update().filter(pk=milestone.pk).first()
        if current is None:
            return 0
        if version != milestone_version(current):
            raise _stale("milestone")
        readings = current.readings.count()
        # The initiatives that served it stop serving it: their links go one by one, so
        # the plans they belong to hear of it (planning/changes.py).
        for link in current.initiative_links.all():
            link.delete()
        current.delete()
    return readings


# ---------------------------------------------------------------------------------------
# The feed: a CSV address pulled on a schedule (journeys.milestone_feed fetches it)
# ---------------------------------------------------------------------------------------


def segment_feed_set(*, segment: Segment, url: str) -> Segment:
    """Set (or clear, blank) the address a segment's readings are pulled from."""
    url = (url or "").strip()
    if url:
        from journeys.milestone_feed import address_problem

        if problem := address_problem(url, resolve=False):
            raise ValidationError({"url": [problem]})
    with transaction.atomic():
        Segment.objects.filter(pk=segment.pk).update(
            milestone_feed_url=url,
            milestone_feed_pulled_at=None,
            milestone_feed_rows=None,
            milestone_feed_error="",
        )
    segment.milestone_feed_url = url
    segment.milestone_feed_pulled_at, segment.milestone_feed_rows = None, None
    segment.milestone_feed_error = ""
    return segment


def segment_feed_record(*, segment: Segment, rows: int | None = None, error: str = "") -> None:
    """Keep how a pull went: the readings it imported, or why it failed."""
    Segment.objects.filter(pk=segment.pk).update(
        milestone_feed_pulled_at=timezone.now(),
        milestone_feed_rows=None if error else rows,
        milestone_feed_error=error[:2000],
    )
