"""Segments' success outcomes and their time-to-value milestone maps: the writes.

A segment's success outcome reads as one sentence ("80% of seats active within 60 days");
its milestones are the steps customers take towards it, each expected by a day from the
customer's start; readings say how customers are actually doing at a milestone, one per
milestone and day (a later reading for the same day replaces it). Readings arrive by a
check-in form, a CSV upload, the API and a scheduled pull of a CSV address: all of them go
through `readings_import` (or `reading_record` for one), so they are checked the same way
and an upload with any error writes nothing.

Every function validates, writes inside one transaction and raises ValidationError with
per-field messages (or, for imports, one message per bad row) when it refuses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.keys import key_problem
from core.people import display_name
from journeys.models import Milestone, MilestoneReading, Moment, Segment
from journeys.services import fingerprint

STALE = "stale"
WITHIN_DAYS_MAX = 3650
EXPECTED_DAY_MAX = 3650
# Bounds on one import (an upload, an API call, a pull): the work a request may ask for.
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 5000
CSV_COLUMNS = ("milestone", "measured_on", "actual_days", "completion_rate", "customers", "note")
NOTE_MAX = 2000


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def _stale(what: str) -> ValidationError:
    return ValidationError(
        f"Someone else saved this {what} after you opened it. Your entries are still here: "
        "compare them with the saved version below, then save again to keep yours.",
        code=STALE,
    )


def plain_decimal(value: Decimal | None) -> str:
    """80.00 as "80" and 12.50 as "12.5"."""
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


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


def outcome_sentence(segment: Segment) -> str:
    """ "80% of seats active within 60 days — owner Priya Shah"; "" when none is set."""
    if not segment.success_metric or segment.success_threshold is None:
        return ""
    unit = segment.success_unit or ""
    # A sign ("%") sits on the number; a word ("seats") after a space.
    joiner = "" if not unit or not unit[:1].isalnum() else " "
    sentence = f"{plain_decimal(segment.success_threshold)}{joiner}{unit} {segment.success_metric}"
    if segment.success_within_days:
        days = segment.success_within_days
        sentence += f" within {days} day{'s' if days != 1 else ''}"
    if segment.success_owner_id is not None:
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
# Readings
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    created: int
    replaced: int

    @property
    def total(self) -> int:
        return self.created + self.replaced

    @property
    def summary(self) -> str:
        def n(count: int, what: str) -> str:
            return f"{count} reading{'s' if count != 1 else ''} {what}"

        return f"{n(self.created, 'created')}, {n(self.replaced, 'replaced')}."


def _decimal(text, what: str, *, low: Decimal, high: Decimal) -> tuple[Decimal | None, str]:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None, ""
    try:
        value = Decimal(str(text).strip().removesuffix("%").strip())
    except InvalidOperation:
        return None, f"{what} must be a number, not “{str(text)[:40]}”."
    if not value.is_finite() or not low <= value <= high:
        return None, f"{what} must be from {low} to {high}."
    return value, ""


def _reading_values(record: Mapping, *, today: dt.date) -> tuple[dict, list[str]]:
    """One reading's values from what a form, a CSV row or an API item gave, and what is
    wrong with them, in plain sentences."""
    problems: list[str] = []
    measured_on = record.get("measured_on")
    if isinstance(measured_on, str):
        text = measured_on.strip()
        measured_on = None
        if not text:
            measured_on = today
        else:
            try:
                measured_on = dt.date.fromisoformat(text)
            except ValueError:
                problems.append(
                    f"measured_on must be a date written YYYY-MM-DD, not “{text[:40]}”."
                )
    elif measured_on is None:
        measured_on = today
    if isinstance(measured_on, dt.date) and measured_on > today:
        problems.append("measured_on is in the future: record what was measured, up to today.")
    if isinstance(measured_on, dt.date) and measured_on.year < 2000:
        problems.append("measured_on must be in the year 2000 or later.")
    actual_days, problem = _decimal(
        record.get("actual_days"), "actual_days", low=Decimal(0), high=Decimal(99999)
    )
    if problem:
        problems.append(problem)
    completion, problem = _decimal(
        record.get("completion_rate"), "completion_rate", low=Decimal(0), high=Decimal(100)
    )
    if problem:
        problems.append(problem)
    raw_customers = record.get("customers")
    customers = None
    if raw_customers is not None and str(raw_customers).strip():
        try:
            customers = int(str(raw_customers).strip())
        except ValueError:
            problems.append(f"customers must be a whole number, not “{str(raw_customers)[:40]}”.")
        else:
            if not 0 <= customers <= 2_000_000_000:
                problems.append("customers must be a whole number from 0 up.")
                customers = None
    note = str(record.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        problems.append(f"note is longer than {NOTE_MAX} characters.")
    if (
        record.get("actual_days") in (None, "")
        and record.get("completion_rate") in (None, "")
        and not problems
    ):
        problems.append("Give the actual days, the completion rate, or both.")
    values = {
        "measured_on": measured_on,
        "actual_days": actual_days.quantize(Decimal("0.1")) if actual_days is not None else None,
        "completion_rate": completion.quantize(Decimal("0.01")) if completion is not None else None,
        "customers": customers,
        "note": note,
    }
    return values, problems


def _save_reading(milestone: Milestone, values: dict, *, source: str, by) -> bool:
    """Write one reading; True when it replaced that day's reading."""
    existing = (
        MilestoneReading.objects.select_for_update()
        .filter(milestone=milestone, measured_on=values["measured_on"])
        .first()
    )
    if existing is not None:
        for name, value in values.items():
            setattr(existing, name, value)
        existing.source, existing.author = source, by
        existing.save()
        return True
    MilestoneReading.objects.create(milestone=milestone, source=source, author=by, **values)
    return False


def reading_record(
    *,
    milestone: Milestone,
    measured_on: dt.date | None,
    actual_days: Decimal | None,
    completion_rate: Decimal | None,
    customers: int | None = None,
    note: str = "",
    source: str = MilestoneReading.Source.CHECK_IN,
    by=None,
) -> bool:
    """Record one reading (a check-in); a reading already recorded for that day is replaced.
    Returns True when it replaced one."""
    values, problems = _reading_values(
        {
            "measured_on": measured_on,
            "actual_days": actual_days,
            "completion_rate": completion_rate,
            "customers": customers,
            "note": note,
        },
        today=timezone.localdate(),
    )
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        return _save_reading(milestone, values, source=source, by=by)


def _place(problem: str) -> int:
    """Where a problem is ("Row 7: ..." is 7), to list them in the file's order; a problem
    of no row goes last."""
    first, _, _ = problem.partition(":")
    number = first.rpartition(" ")[2]
    return int(number) if number.isdigit() else 10**9


def readings_import(
    *,
    segment: Segment,
    records: Iterable[tuple[str, Mapping]],
    source: str,
    by=None,
    problems_before: Iterable[str] = (),
) -> Imported:
    """Record many readings at once, all or nothing: `records` are (where, values) pairs,
    `where` naming the row for messages ("Row 3", "Item 2"), values with a `milestone` key
    of this segment. Any problem anywhere: ValidationError listing every one, nothing
    written. Two readings of one milestone for the same day: the later one counts."""
    milestones = {m.key: m for m in Milestone.objects.filter(segment=segment)}
    today = timezone.localdate()
    errors: list[str] = list(problems_before)
    wanted: dict[tuple[int, dt.date], dict] = {}
    count = 0
    for where, record in records:
        count += 1
        if count > IMPORT_MAX_ROWS:
            errors.append(f"There are more than {IMPORT_MAX_ROWS:,} readings: send fewer at once.")
            break
        key = str(record.get("milestone") or "").strip()
        milestone = milestones.get(key)
        problems = []
        if not key:
            problems.append("milestone is blank: give the key of one of this segment's milestones.")
        elif milestone is None:
            problems.append(f"{segment.name} has no milestone with the key “{key[:60]}”.")
        values, more = _reading_values(record, today=today)
        problems.extend(more)
        if problems:
            errors.extend(f"{where}: {problem}" for problem in problems)
            continue
        wanted[(milestone.pk, values["measured_on"])] = {"milestone": milestone, **values}
    if not count and not errors:
        errors.append("There are no readings in it.")
    if errors:
        raise ValidationError(sorted(errors, key=_place))
    created = replaced = 0
    with transaction.atomic():
        for values in wanted.values():
            values = dict(values)
            milestone = values.pop("milestone")
            if _save_reading(milestone, values, source=source, by=by):
                replaced += 1
            else:
                created += 1
    return Imported(created=created, replaced=replaced)


def csv_records(data: bytes) -> tuple[list[tuple[str, dict]], list[str]]:
    """The rows of a readings CSV as (where, values) for `readings_import`, and the rows
    that cannot be read. ValidationError when the file as a whole is wrong (size, encoding,
    header, too many rows)."""
    if len(data) > IMPORT_MAX_BYTES:
        raise ValidationError(
            f"The file is larger than {IMPORT_MAX_BYTES // (1024 * 1024)} MB: send fewer rows."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text: save it as CSV (UTF-8).") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ValidationError(f"Row 1: the header cannot be read ({exc}).") from None
    if not header:
        raise ValidationError(
            f"The file is empty. Its first row must name the columns: {','.join(CSV_COLUMNS)}."
        )
    names = [name.strip().lower() for name in header]
    missing = [name for name in CSV_COLUMNS if name not in names]
    unknown = [name for name in names if name not in CSV_COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        problems = []
        if missing:
            problems.append(f"it lacks {', '.join(missing)}")
        if unknown:
            problems.append(f"it has columns this import does not know: {', '.join(unknown)}")
        if len(set(names)) != len(names):
            problems.append("a column is named twice")
        raise ValidationError(
            f"Row 1 must be the header {','.join(CSV_COLUMNS)}; {'; '.join(problems)}."
        )
    records: list[tuple[str, dict]] = []
    errors: list[str] = []
    try:
        for cells in reader:
            row = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) + len(errors) >= IMPORT_MAX_ROWS:
                raise ValidationError(
                    f"There are more than {IMPORT_MAX_ROWS:,} rows: send fewer at once."
                )
            if len(cells) != len(names):
                errors.append(
                    f"Row {row}: it has {len(cells)} cells where the header names {len(names)}."
                )
                continue
            records.append((f"Row {row}", dict(zip(names, cells, strict=True))))
    except csv.Error as exc:
        errors.append(f"Row {reader.line_num}: it cannot be read as CSV ({exc}).")
    return records, errors


def readings_import_csv(*, segment: Segment, data: bytes, source: str, by=None) -> Imported:
    """A readings CSV (`CSV_COLUMNS`), all or nothing (`readings_import`). Rows that cannot
    be read and rows whose values are wrong are listed together, in the file's order."""
    records, unreadable = csv_records(data)
    return readings_import(
        segment=segment, records=records, source=source, by=by, problems_before=unreadable
    )


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
