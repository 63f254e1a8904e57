"""Initiatives and dependencies from a spreadsheet (CSV or Excel), checked before anything
is written.

A file is read into plain rows of text; `check` resolves every reference, checks every
value with the same rules as the web forms and the person's rights for each row, and says
what each row would do (create, update, nothing). Nothing is written until the person
confirms; `apply` then checks the same rows again against the plans as they are at that
moment and writes all of them in one transaction, or none.

An Excel workbook holds a sheet named "Initiatives", one named "Dependencies", or both; a
CSV file holds one of the two, recognised by its header row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import access
from core.keys import KEY_MAX_LENGTH, key_problem
from core.validators import DATE_RANGE, date_from_text, date_problem, is_blank
from dependencies import services as dependency_services
from dependencies.models import DEPENDENCY_STATUSES, Dependency, transition_problem
from journeys.models import Segment, Stage
from planning.spreadsheet_files import Bounds, UnreadableFile, csv_rows, xlsx_sheets
from squads import services as squad_services
from squads.models import IMPACT_MAX, IMPACT_MIN, Initiative, Squad

User = get_user_model()

MAX_CELL = 20_000
# How many stages a refused stage's message lists: enough for any one company's journeys.
STAGES_LISTED = 30
INITIATIVES, DEPENDENCIES = "Initiatives", "Dependencies"

COLUMNS: dict[str, list[tuple[str, str]]] = {
    INITIATIVES: [
        ("squad", "The squad's key; required."),
        ("key", "The initiative's key within its squad; required. An existing key updates it."),
        ("title", "Required."),
        ("description", ""),
        ("function", "The function that builds it, e.g. Product; required."),
        ("stage", "Journey stage as JOURNEY/STAGE, e.g. lifecycle/onboarding."),
        ("segment", "A segment's key."),
        ("starts", f"A date (YYYY-MM-DD or an Excel date) {DATE_RANGE}; required."),
        ("ends", "A date on or after starts; required."),
        ("headcount", "Full-time people, may be fractional; default 0."),
        ("status", "proposed, planned, in_progress, done or dropped; default proposed."),
        ("impact_team", f"{IMPACT_MIN} to {IMPACT_MAX}; all three impacts or none."),
        ("impact_business", f"{IMPACT_MIN} to {IMPACT_MAX}."),
        ("impact_customer", f"{IMPACT_MIN} to {IMPACT_MAX}."),
        ("counter_measure", "Required when the impacts lean hard to one side."),
    ],
    DEPENDENCIES: [
        ("key", "Optional for a new dependency (made from what); an existing key updates it."),
        ("needed_by", "Who needs it: a squad key or an initiative as SQUAD/KEY; required."),
        ("provided_by", "A squad key or SQUAD/KEY; or leave empty and fill to_function."),
        ("to_function", "A function instead, when no squad provides it."),
        ("what", "What is needed; required."),
        ("due", f"A date (YYYY-MM-DD or an Excel date) {DATE_RANGE}; required."),
        ("blocking", "yes or no; default no."),
        (
            "status",
            "Empty for a new one; accepted, at_risk or done from the provider side, when it "
            "may follow the current status (as on the board).",
        ),
        (
            "owner",
            "A username on the provider side: of the providing squad or function. Read for a "
            "new dependency; a file does not change an existing one's owner.",
        ),
        ("note", ""),
    ],
}
STATUS_ANSWERS = {"accepted": "accept", "at_risk": "at_risk", "done": "done"}
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}

Row = dict[str, str]


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    column: str
    message: str


@dataclass
class RowPlan:
    sheet: str
    row: int
    action: str  # "create", "update" or "unchanged"
    ref: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (column, old, new)


@dataclass
class Checked:
    rows: dict[str, list[tuple[int, Row]]]
    # Each row as checked: columns the file leaves out keep what the item has now.
    completed: dict[tuple[str, int], Row] = field(default_factory=dict)
    plans: list[RowPlan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # What the person should know before confirming, though nothing stops the import: a
    # dependency that would be late from the moment it is saved.
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, action: str) -> int:
        return sum(1 for plan in self.plans if plan.action == action)

    @property
    def count_create(self) -> int:
        return self.count("create")

    @property
    def count_update(self) -> int:
        return self.count("update")

    @property
    def count_unchanged(self) -> int:
        return self.count("unchanged")


# --- reading ---------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sheet_kind(headers: list[str]) -> str | None:
    """Which sheet a header row belongs to. Only the columns that identify a row are needed:
    a file may change one column of existing items; a new item needs its required values."""
    names = {h for h in headers if h}
    if {"squad", "key"} <= names:
        return INITIATIVES
    if "needed_by" in names or ("key" in names and names & {"what", "due", "status", "note"}):
        return DEPENDENCIES
    return None


def _rows(kind: str, header: list[str], body, first_row: int) -> list[tuple[int, Row]]:
    known = {name for name, _ in COLUMNS[kind]}
    unknown = [h for h in header if h and h not in known]
    if unknown:
        named = ", ".join(name[:40] for name in unknown[:10])
        more = f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""
        raise UnreadableFile(
            f"The {kind} sheet has columns this import does not know: {named}{more}. "
            f"Use the template's columns: {', '.join(n for n, _ in COLUMNS[kind])}."
        )
    identifying = {"squad", "key"} if kind == INITIATIVES else set()
    if missing := identifying - set(header):
        raise UnreadableFile(f"The {kind} sheet lacks the columns {', '.join(sorted(missing))}.")
    rows: list[tuple[int, Row]] = []
    most = settings.IMPORT_MAX_ROWS
    for number, values in enumerate(body, start=first_row):
        cells = [_text(v) for v in values]
        if not any(cells):
            continue
        if len(rows) >= most:
            raise UnreadableFile(f"The {kind} sheet has more than {most:,} rows; split it.")
        row = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
        rows.append((number, row))
    return rows


def _header(values) -> list[str]:
    return [_text(v).lower().replace(" ", "_") for v in values]


def read(name: str, file: IO[bytes]) -> dict[str, list[tuple[int, Row]]]:
    """The rows of each sheet, numbered as the spreadsheet numbers them.

    Raises UnreadableFile, saying why, for a file that is not a spreadsheet or crosses one
    of the bounds in settings (planning/spreadsheet_files.py).
    """
    lowered = name.lower()
    bounds = Bounds.from_settings()
    if lowered.endswith(".xlsx"):
        return _read_xlsx(file, bounds)
    if lowered.endswith(".csv"):
        return _read_csv(file, bounds)
    raise UnreadableFile("Upload a .csv or .xlsx file (Excel 2007 or later).")


def _read_csv(file: IO[bytes], bounds: Bounds) -> dict[str, list[tuple[int, Row]]]:
    lines = csv_rows(file, bounds)
    first = next(lines, None)
    if first is None:
        raise UnreadableFile("The file is empty.")
    header = _header(first)
    kind = _sheet_kind(header)
    if kind is None:
        raise UnreadableFile(
            "The first row must name the columns: squad and key (and for a new initiative "
            "title, function, starts, ends); for dependencies needed_by, what and due, or key "
            "and the columns to change."
        )
    return {kind: _rows(kind, header, lines, first_row=2)}


def _read_xlsx(file: IO[bytes], bounds: Bounds) -> dict[str, list[tuple[int, Row]]]:
    found: dict[str, list[tuple[int, Row]]] = {}
    for title, lines in xlsx_sheets(file, bounds):
        if not lines:
            continue
        header = _header(lines[0])
        lowered = title.strip().lower()
        kind = next((k for k in (INITIATIVES, DEPENDENCIES) if k.lower() == lowered), None)
        kind = kind or _sheet_kind(header)
        if kind is None:
            continue
        if kind in found:
            raise UnreadableFile(f"The workbook has two {kind} sheets; keep one.")
        found[kind] = _rows(kind, header, lines[1:], first_row=2)
    if not found:
        raise UnreadableFile(
            "No sheet named Initiatives or Dependencies (or with their columns) was found."
        )
    return found


# --- checking --------------------------------------------------------------------------


class _Lookup:
    """Everything the rows refer to, loaded once."""

    def __init__(self, rows: dict[str, list[tuple[int, Row]]]):
        keys = [row.get("key", "") for _n, row in rows.get(DEPENDENCIES, []) if row.get("key")]
        self.dependencies = {
            d.key: d
            for d in Dependency.objects.filter(key__in=keys).select_related(
                "from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad", "owner"
            )
        }
        wanted_squads = set()
        # Only the initiatives the rows name (squad and key), not every one of their squads.
        wanted: set[tuple[str, str]] = set()
        for _n, row in rows.get(INITIATIVES, []):
            wanted_squads.add(row.get("squad", ""))
            wanted.add((row.get("squad", ""), row.get("key", "")))
        refs = [
            ref
            for _n, row in rows.get(DEPENDENCIES, [])
            for ref in (row.get("needed_by", ""), row.get("provided_by", ""))
        ]
        # A row may name an existing dependency by its key alone: the parties it keeps are
        # looked up too, so they resolve like parties the file spells out.
        for d in self.dependencies.values():
            party = _dependency_as_row(d)
            refs += [party["needed_by"], party["provided_by"]]
        for ref in refs:
            squad_key, slash, key = ref.partition("/")
            wanted_squads.add(squad_key)
            if slash:
                wanted.add((squad_key, key))
        self.squads = {s.key: s for s in Squad.objects.filter(key__in=wanted_squads)}
        found = Initiative.objects.filter(
            squad__key__in={squad for squad, _ in wanted}, key__in={key for _, key in wanted}
        ).select_related("squad", "stage__journey", "segment")
        self.initiatives = {
            (i.squad.key, i.key): i for i in found if (i.squad.key, i.key) in wanted
        }
        self.stages = {
            f"{s.journey.key}/{s.key}": s for s in Stage.objects.select_related("journey")
        }
        self.segments = {s.key: s for s in Segment.objects.all()}
        owners = {row.get("owner", "") for _n, row in rows.get(DEPENDENCIES, [])}
        owners |= {d.owner.username for d in self.dependencies.values() if d.owner_id}
        self.people = {u.username: u for u in User.objects.filter(username__in=owners)}


def _date(value: str) -> dt.date | None:
    return date_from_text(value)


class _RowCheck:
    def __init__(self, checked: Checked, sheet: str, number: int, row: Row):
        self.checked, self.sheet, self.number, self.row = checked, sheet, number, row
        self.failed = False
        self.columns: set[str] = set()

    def problem(self, column: str, message: str) -> None:
        self.failed = True
        if column not in self.columns:  # one problem per cell: the first says enough
            self.columns.add(column)
            self.checked.problems.append(Problem(self.sheet, self.number, column, message))

    def text(self, column: str, *, required: bool = False, limit: int = MAX_CELL) -> str:
        value = self.row.get(column, "").strip()
        if required and is_blank(value):
            self.problem(column, "Fill this in.")
        elif len(value) > limit:
            self.problem(column, f"Keep it to {limit:,} characters (it has {len(value):,}).")
        return value

    def key(self, column: str, *, required: bool) -> str:
        value = self.text(column, required=required, limit=KEY_MAX_LENGTH)
        problem = key_problem(value) if value else None
        if problem:
            self.problem(column, problem)
        return value

    def date(self, column: str) -> dt.date | None:
        value = self.text(column, required=True)
        if not value:
            return None
        parsed = _date(value)
        if parsed is None:
            self.problem(column, f"“{value}” is not a date; write it as YYYY-MM-DD.")
        elif problem := date_problem(parsed):
            self.problem(column, problem)
            return None
        return parsed

    def decimal(self, column: str, default: Decimal) -> Decimal | None:
        value = self.text(column)
        if not value:
            return default
        try:
            parsed = Decimal(value.replace(",", "."))
        except InvalidOperation:
            parsed = None
        if parsed is None or not parsed.is_finite() or abs(parsed) >= 10_000:
            self.problem(column, f"“{value}” is not a number of people.")
            return None
        return parsed

    def impact(self, column: str) -> int | None:
        value = self.text(column)
        if not value:
            return None
        try:
            parsed = int(value.replace("+", ""))
        except ValueError:
            parsed = None
        if parsed is None or not IMPACT_MIN <= parsed <= IMPACT_MAX:
            self.problem(column, f"Impact is a whole number from {IMPACT_MIN} to {IMPACT_MAX}.")
            return None
        return parsed


def _stages_known(stages: dict) -> str:
    """The stages a cell may name, for the message that refuses one that is not among them."""
    if not stages:
        return "No journey has stages yet; leave the cell empty or add the stages first."
    names = sorted(stages)
    listed = ", ".join(names[:STAGES_LISTED])
    more = len(names) - STAGES_LISTED
    tail = f" and {more} more" if more > 0 else ""
    return f"Write JOURNEY/STAGE, one of: {listed}{tail}."


def _show(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "journey"):
        return f"{value.journey.key}/{value.key}"
    if hasattr(value, "key"):
        return value.key
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _diff(current: dict, wanted: dict) -> list[tuple[str, str, str]]:
    return [
        (name, _show(current[name]), _show(value))
        for name, value in wanted.items()
        if _show(current[name]) != _show(value)
    ]


def _ref_of(initiative) -> str:
    return f"{initiative.squad.key}/{initiative.key}"


def _initiative_as_row(i: Initiative) -> Row:
    return {
        "squad": i.squad.key,
        "key": i.key,
        "title": i.title,
        "description": i.description,
        "function": i.function,
        "stage": _show(i.stage),
        "segment": _show(i.segment),
        "starts": i.starts.isoformat(),
        "ends": i.ends.isoformat(),
        "headcount": _show(i.headcount),
        "status": i.status,
        "impact_team": _show(i.impact_team),
        "impact_business": _show(i.impact_business),
        "impact_customer": _show(i.impact_customer),
        "counter_measure": i.counter_measure,
    }


def _dependency_as_row(d: Dependency) -> Row:
    provider = d.to_squad.key if d.to_squad_id else ""
    if d.to_initiative_id:
        provider = _ref_of(d.to_initiative)
    return {
        "key": d.key,
        "needed_by": d.from_squad.key if d.from_squad_id else _ref_of(d.from_initiative),
        "provided_by": provider,
        "to_function": d.to_function,
        "what": d.what,
        "due": d.due.isoformat(),
        "blocking": _show(d.blocking),
        "status": d.status,
        "owner": d.owner.username if d.owner_id else "",
        "note": d.note,
    }


def _complete(row: Row, current: Row | None) -> Row:
    """The row with the columns the file leaves out taken from the item as it is."""
    return {**current, **row} if current else dict(row)


def check(rows: dict[str, list[tuple[int, Row]]], user) -> Checked:
    checked = Checked(rows=rows)
    actor = access.Actor(user=user, groups=frozenset(user.groups.values_list("name", flat=True)))
    lookup = _Lookup(rows)
    new_initiatives = _check_initiatives(checked, lookup, actor)
    _check_dependencies(checked, lookup, actor, new_initiatives)
    checked.problems.sort(key=lambda p: (p.sheet != INITIATIVES, p.row))
    return checked


def _initiative_values(c: _RowCheck, lookup: _Lookup) -> squad_services.InitiativeFields | None:
    stage_ref = c.text("stage")
    stage = lookup.stages.get(stage_ref) if stage_ref else None
    if stage_ref and stage is None:
        c.problem("stage", f"No journey stage is “{stage_ref}”. {_stages_known(lookup.stages)}")
    segment_key = c.text("segment")
    segment = lookup.segments.get(segment_key) if segment_key else None
    if segment_key and segment is None:
        c.problem("segment", f"No segment has the key “{segment_key}”.")
    status = c.text("status") or Initiative.Status.PROPOSED
    if status not in Initiative.Status.values:
        c.problem("status", f"“{status}” is not a status: {', '.join(Initiative.Status.values)}.")
    values: squad_services.InitiativeFields = {
        "title": c.text("title", required=True, limit=300),
        "description": c.text("description"),
        "function": c.text("function", required=True, limit=100),
        "stage": stage,
        "segment": segment,
        "starts": c.date("starts"),
        "ends": c.date("ends"),
        "headcount": c.decimal("headcount", Decimal(0)),
        "status": status,
        "impact_team": c.impact("impact_team"),
        "impact_business": c.impact("impact_business"),
        "impact_customer": c.impact("impact_customer"),
        "counter_measure": c.text("counter_measure"),
    }
    for column, message in squad_services.initiative_problems(values).items():
        c.problem(column, message)
    return None if c.failed else values


def _check_initiatives(checked: Checked, lookup: _Lookup, actor) -> set[tuple[str, str]]:
    seen: dict[tuple[str, str], int] = {}
    for number, given in checked.rows.get(INITIATIVES, []):
        existing = lookup.initiatives.get((given.get("squad", ""), given.get("key", "")))
        row = _complete(given, _initiative_as_row(existing) if existing else None)
        checked.completed[(INITIATIVES, number)] = row
        c = _RowCheck(checked, INITIATIVES, number, row)
        squad_key = c.key("squad", required=True)
        key = c.key("key", required=True)
        squad = lookup.squads.get(squad_key)
        if squad_key and squad is None:
            c.problem("squad", f"No squad has the key “{squad_key}”.")
        elif squad is not None and not access.can_edit_plan(actor, squad):
            c.problem("squad", f"Only members of {squad.name} change its plan.")
        if (squad_key, key) in seen:
            c.problem("key", f"Row {seen[(squad_key, key)]} already has this initiative.")
        seen.setdefault((squad_key, key), number)
        values = _initiative_values(c, lookup)
        if c.failed or values is None:
            continue
        current = lookup.initiatives.get((squad_key, key))
        ref = f"{squad_key}/{key}"
        if current is None:
            checked.plans.append(RowPlan(INITIATIVES, number, "create", ref))
            continue
        changes = _diff({name: getattr(current, name) for name in values}, values)
        action = "update" if changes else "unchanged"
        checked.plans.append(RowPlan(INITIATIVES, number, action, ref, changes))
    return {ref for ref in seen if ref not in lookup.initiatives}


def _party(c, lookup, column, new_initiatives) -> tuple[Squad | None, object, str | None]:
    """(squad, initiative or the ref of one this file creates, the squad key) for a ref."""
    ref = c.text(column, limit=2 * KEY_MAX_LENGTH + 1)
    if not ref:
        return None, None, None
    squad_key, slash, key = ref.partition("/")
    if not slash:
        squad = lookup.squads.get(ref)
        if squad is None:
            c.problem(column, f"No squad has the key “{ref}”.")
        return squad, None, ref
    initiative = lookup.initiatives.get((squad_key, key))
    if initiative is not None:
        return None, initiative, squad_key
    if (squad_key, key) in new_initiatives:
        return None, ref, squad_key
    c.problem(column, f"No initiative is “{ref}”, here or in the Initiatives sheet.")
    return None, None, squad_key


def _check_dependencies(checked, lookup, actor, new_initiatives) -> None:
    seen: dict[str, int] = {}
    today = timezone.localdate()
    for number, given in checked.rows.get(DEPENDENCIES, []):
        existing = lookup.dependencies.get(given.get("key", ""))
        row = _complete(given, _dependency_as_row(existing) if existing else None)
        if existing is not None and "status" not in given:
            row["status"] = ""  # no status column: the status stays as it is
        checked.completed[(DEPENDENCIES, number)] = row
        c = _RowCheck(checked, DEPENDENCIES, number, row)
        key = c.key("key", required=False)
        if key and key in seen:
            c.problem("key", f"Row {seen[key]} already has this dependency.")
        if key:
            seen.setdefault(key, number)
        from_squad, from_initiative, needer_key = _party(c, lookup, "needed_by", new_initiatives)
        if not c.row.get("needed_by", "").strip():
            c.problem("needed_by", "Fill this in.")
        to_squad, to_initiative, _provider_key = _party(c, lookup, "provided_by", new_initiatives)
        to_function = c.text("to_function", limit=100)
        what = c.text("what", required=True, limit=dependency_services.WHAT_MAX_LENGTH)
        due = c.date("due")
        note = c.text("note", limit=dependency_services.NOTE_MAX_LENGTH)
        blocking_text = c.text("blocking").lower()
        if blocking_text not in YES | NO:
            c.problem("blocking", f"Write yes or no, not “{blocking_text}”.")
        blocking = blocking_text in YES
        owner_name = c.text("owner")
        owner = lookup.people.get(owner_name) if owner_name else None
        if owner_name and owner is None:
            c.problem("owner", f"Nobody has the username “{owner_name}”.")
        status = c.text("status").lower()
        providers = sum(bool(x) for x in (to_squad, to_initiative, to_function))
        if providers != 1 and not c.failed:
            c.problem(
                "provided_by", "Name exactly one provider: provided_by or to_function, not both."
            )
        needer = lookup.squads.get(needer_key or "")
        current = lookup.dependencies.get(key) if key else None
        if current is None:
            if status not in ("", "requested"):
                c.problem("status", "A new dependency starts as requested; its provider answers.")
            if needer is not None and not access.can_create_dependency(actor, needer):
                c.problem("needed_by", f"Only members of {needer.name} record what it needs.")
            # An initiative this file creates is still only its "SQUAD/KEY" here.
            pending = isinstance(from_initiative, str) or isinstance(to_initiative, str)
            try:
                if not c.failed and not pending:
                    dependency_services.check_parties(
                        from_squad=from_squad,
                        from_initiative=from_initiative,
                        to_squad=to_squad,
                        to_initiative=to_initiative,
                        to_function=to_function,
                        owner=owner,
                    )
                elif not c.failed and from_initiative == to_initiative:
                    c.problem("provided_by", "An initiative cannot need something from itself.")
                elif not c.failed:
                    dependency_services.check_owner(
                        owner=owner,
                        provider_squad=to_squad
                        or getattr(to_initiative, "squad", None)
                        or lookup.squads.get(_provider_key or ""),
                        to_function=to_function,
                        needer_squad_id=needer.pk if needer is not None else None,
                    )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    for message in messages:
                        c.problem("owner" if field == "owner" else "provided_by", message)
            if not c.failed:
                ref = key or f"(new) {what[:40]}"
                checked.plans.append(RowPlan(DEPENDENCIES, number, "create", ref))
                if warning := dependency_services.past_due_warning(due, today=today):
                    checked.warnings.append(Problem(DEPENDENCIES, number, "due", warning))
            continue
        # An existing dependency: its parties stay; the needing side edits the content, the
        # provider side answers.
        if c.failed:
            continue
        same_parties = (
            current.from_squad == from_squad
            and current.from_initiative == from_initiative
            and current.to_squad == to_squad
            and current.to_initiative == to_initiative
            and current.to_function == to_function
        )
        if not same_parties:
            c.problem(
                "needed_by",
                "Who needs it and who provides it do not change by import; record a new "
                "dependency instead.",
            )
            continue
        wanted = {"what": what, "due": due, "blocking": blocking, "note": note}
        changes = _diff({name: getattr(current, name) for name in wanted}, wanted)
        if changes and not access.can_edit_dependency(actor, current):
            c.problem("what", "Only the needing squad's members change what it needs.")
        if status and status != current.status:
            if status in DEPENDENCY_STATUSES and not current.may_become(status):
                c.problem("status", transition_problem(current.status, status, as_values=True))
            elif status not in STATUS_ANSWERS:
                c.problem(
                    "status",
                    "Import sets accepted, at_risk or done; decline on the board, with a reason.",
                )
            elif not access.can_respond_dependency(actor, current):
                c.problem("status", "Only the provider side answers this dependency.")
            else:
                changes.append(("status", current.status, status))
        if (owner.pk if owner else None) != current.owner_id and owner_name:
            c.problem(
                "owner",
                "A dependency's owner is named when it is asked for, or when it is accepted; "
                "a file does not change it.",
            )
        if not c.failed:
            action = "update" if changes else "unchanged"
            checked.plans.append(RowPlan(DEPENDENCIES, number, action, key, changes))
            changed = {column for column, _old, _new in changes}
            warning = ""
            if "due" in changed:
                warning = dependency_services.past_due_warning(due, today=today)
            if "status" in changed and status == Dependency.Status.ACCEPTED:
                late = dependency_services.late_promise_warning(
                    due, today=today, needer=current.needer_squad().name
                )
                warning = f"{warning} {late}".strip()
            if warning:
                checked.warnings.append(Problem(DEPENDENCIES, number, "due", warning))


# --- writing ---------------------------------------------------------------------------


class Rejected(Exception):
    def __init__(self, checked: Checked):
        super().__init__("The spreadsheet no longer applies cleanly.")
        self.checked = checked


def apply(rows: dict[str, list[tuple[int, Row]]], user) -> Checked:
    """Check again and write every row, or nothing: raises Rejected with the problems."""
    with transaction.atomic():
        checked = check(rows, user)
        if not checked.ok:
            raise Rejected(checked)
        plans = {(p.sheet, p.row): p for p in checked.plans}
        lookup = _Lookup(rows)
        try:
            # New rows go in together (a statement per 2,000 rows); a changed row is saved
            # on its own, as the web forms save it.
            new_initiatives, wrote = [], False
            for number, _given in rows.get(INITIATIVES, []):
                row = checked.completed[(INITIATIVES, number)]
                plan = plans[(INITIATIVES, number)]
                if plan.action == "unchanged":
                    continue
                c = _RowCheck(Checked(rows={}), INITIATIVES, number, row)
                values = _initiative_values(c, lookup)
                squad = lookup.squads[row["squad"].strip()]
                if plan.action == "create":
                    new_initiatives.append((squad, row["key"].strip(), values))
                else:
                    squad_services.initiative_update(
                        initiative=lookup.initiatives[(squad.key, row["key"].strip())],
                        values=values,
                        by=user,
                    )
                    wrote = True
            if new_initiatives:
                squad_services.initiatives_create(rows=new_initiatives, by=user)
                wrote = True
            if wrote:
                lookup = _Lookup(rows)  # now with the initiatives just written
            new_dependencies, keyless = [], []
            for number, _given in rows.get(DEPENDENCIES, []):
                row = checked.completed[(DEPENDENCIES, number)]
                plan = plans[(DEPENDENCIES, number)]
                if plan.action == "create" and row.get("key", "").strip():
                    new_dependencies.append(_new_dependency(row, lookup))
                elif plan.action == "create":
                    keyless.append((plan, row))
                elif plan.action != "unchanged":
                    _write_dependency(plan, row, lookup, user)
            if new_dependencies:
                dependency_services.dependencies_create(by=user, rows=new_dependencies)
            # Without a key, one is made from what is needed: free of the file's own keys.
            for plan, row in keyless:
                _write_dependency(plan, row, lookup, user)
        except ValidationError as exc:
            checked.problems.append(Problem("", 0, "", " ".join(exc.messages)))
            raise Rejected(checked) from exc
    return checked


def _ref(lookup: _Lookup, ref: str):
    if not ref:
        return None, None
    squad_key, slash, key = ref.partition("/")
    if slash:
        return None, lookup.initiatives[(squad_key, key)]
    return lookup.squads[ref], None


def _new_dependency(row: Row, lookup: _Lookup) -> dict:
    """dependency_create's arguments for a new row."""
    from_squad, from_initiative = _ref(lookup, row["needed_by"].strip())
    to_squad, to_initiative = _ref(lookup, row.get("provided_by", "").strip())
    owner_name = row.get("owner", "").strip()
    return {
        "from_squad": from_squad,
        "from_initiative": from_initiative,
        "to_squad": to_squad,
        "to_initiative": to_initiative,
        "to_function": row.get("to_function", "").strip(),
        "what": row["what"].strip(),
        "due": _date(row["due"].strip()),
        "blocking": row.get("blocking", "").strip().lower() in YES,
        "owner": lookup.people.get(owner_name) if owner_name else None,
        "note": row.get("note", "").strip(),
        "key": row.get("key", "").strip(),
    }


def _write_dependency(plan: RowPlan, row: Row, lookup: _Lookup, user) -> None:
    due = _date(row["due"].strip())
    blocking = row.get("blocking", "").strip().lower() in YES
    what, note = row["what"].strip(), row.get("note", "").strip()
    if plan.action == "create":
        dependency_services.dependency_create(by=user, **_new_dependency(row, lookup))
        return
    dep = lookup.dependencies[row["key"].strip()]
    changed = {name for name, _old, _new in plan.changes}
    if changed & {"what", "due", "blocking", "note"}:
        dependency_services.dependency_update(
            dependency=dep, by=user, what=what, due=due, blocking=blocking, note=note
        )
    if "status" in changed:
        status = row["status"].strip().lower()
        # A row carries no reason: at risk from a spreadsheet stays without one, as before
        # reasons were asked (docs/dependencies.md).
        dependency_services.dependency_respond(
            dependency=dep, by=user, action=STATUS_ANSWERS[status], reason_optional=True
        )


# --- the template ----------------------------------------------------------------------


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for kind, columns in COLUMNS.items():
        sheet = book.create_sheet(kind)
        sheet.append([name for name, _ in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for index, (name, _help) in enumerate(columns, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(
                14, len(name) + 4
            )
    guide = book.create_sheet("How to fill")
    guide.append(["Sheet", "Column", "What goes in it"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for kind, columns in COLUMNS.items():
        for name, help_text in columns:
            guide.append([kind, name, help_text])
    guide.column_dimensions["A"].width = 14
    guide.column_dimensions["B"].width = 18
    guide.column_dimensions["C"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv(kind: str) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([name for name, _ in COLUMNS[kind]])
    return out.getvalue()
