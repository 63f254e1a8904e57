"""Readings of a segment's milestones: how its customers are doing at each, as of a day.

One reading per milestone and day: a later reading for the same day replaces it. Readings
arrive by a check-in form (`reading_record`), a CSV upload, the API and a scheduled pull of
a CSV address: all the many-at-once ways go through `readings_import`, so they are checked
the same way, and an import with any error writes nothing and lists every problem with
where it is ("Row 3: ...", "Item 2: ...").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from journeys.models import Milestone, MilestoneReading, Segment

# Bounds on one import (an upload, an API call, a pull): the work a request may ask for.
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 5000
CSV_COLUMNS = ("milestone", "measured_on", "actual_days", "completion_rate", "customers", "note")
NOTE_MAX = 2000


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
    if "\x00" in note:  # the database cannot store it, and nobody types it
        problems.append("note must not contain the NUL character.")
    if actual_days is None and completion is None and not problems:
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
