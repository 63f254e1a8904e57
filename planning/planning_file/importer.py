"""Import a planning file: check all of it, then write all of it in one transaction.

Both formats are read: planning-file/1 exactly as before planning-file/2 existed, and
planning-file/2, which adds the customer's outcomes (planning/planning_file/outcomes.py;
docs/planning-file.md). A planning-file/1 document leaves those outcomes as they are.

Objects are matched by their key (people by username). The file is authoritative for what
it describes of each object: a squad's members, the stages it covers, a journey's segments, a
stage's moments, a plan's not-doing list. Objects it does not mention (other squads,
initiatives, stages, key results, dependencies) are left as they are, never deleted: a file
may describe part of a company.

One module of about 1,000 lines on purpose: the order of the writes (people, cycles, journeys,
squads, plans, dependencies) and the one transaction around them are the point, and read
best top to bottom in one place.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from core.models import Capacity, Cycle, Profile
from core.validators import has_surrogate
from dependencies import events as dependency_events
from dependencies import services as dependency_services
from dependencies.models import DEPENDENCY_STATUSES, Dependency, transition_problem
from journeys.models import (
    EMOTION_MAX,
    EMOTION_MIN,
    Journey,
    JourneySegment,
    Moment,
    Segment,
    Stage,
    parse_offset,
)
from planning.changes import rows_saved
from planning.dependency_news import dependency_news_notify
from planning.planning_file.outcomes import (
    FORMAT_V1,
    FORMAT_V2,
    FORMATS,
    V2_INITIATIVE,
    V2_MOMENT,
    V2_OKR,
    V2_SEGMENT,
    V2_STAGE,
    V2_TOP_LEVEL,
    OutcomeChecks,
    OutcomeWrites,
)
from planning.planning_file.reader import (
    LONG_TEXT,
    Obj,
    Problems,
    join,
    json_repr,
    quote,
)
from planning.tasks import review_enqueue_after_import
from squads import services as squad_services
from squads.models import (
    IMPACT_MAX,
    IMPACT_MIN,
    INITIATIVE_STATUSES,
    OKR,
    Initiative,
    KeyResult,
    Membership,
    Plan,
    Squad,
    SquadStage,
)

# What export writes unless asked for planning-file/1.
FORMAT = FORMAT_V2
TOP_LEVEL = (
    "format",
    "cycles",
    "people",
    "capacity",
    "segments",
    "journeys",
    "squads",
    "dependencies",
)
User = get_user_model()
# Rows a bulk statement writes at most (and keys a lookup names at most).
BULK_BATCH = 2000


class PlanningFileInvalid(Exception):
    """The file has problems; nothing was written."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(f"{len(problems)} problem(s) in the planning file")
        self.problems = problems


@dataclass
class ImportReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)
    cycles: set[str] = field(default_factory=set)
    # What was told (events and notifications): new dependencies, and status changes.
    told_requested: int = 0
    told_answers: int = 0

    def record(self, label: str, outcome: str) -> None:
        getattr(self, outcome)[label] += 1

    @property
    def changed(self) -> bool:
        return bool(+self.created or +self.updated or +self.deleted)

    def summary(self) -> str:
        def part(counter: Counter) -> str:
            total = sum(counter.values())
            detail = ", ".join(f"{n} {label}" for label, n in sorted(counter.items()))
            return f"{total}" + (f" ({detail})" if detail else "")

        return (
            f"created {part(self.created)}; updated {part(self.updated)}; "
            f"removed {part(self.deleted)}; unchanged {sum(self.unchanged.values())}"
        )


def import_document(document: Any, *, tell: bool = True) -> ImportReport:
    """Check the whole document, then write it atomically. Raises PlanningFileInvalid.

    With `tell`, what the file changes in dependencies is told as the board tells it: each
    new dependency is a `dependency.requested` event, each status it changes the answer's
    event (accepted, declined, at risk, done), and a decline or a move to at risk notifies
    the needing squad (planning.dependency_news), all from "the planning file" rather than a
    person. Without it (demo data, a first load of a whole company) nobody is told."""
    problems = Problems()
    clean = _Checker(problems).check(document)
    if problems:
        raise PlanningFileInvalid(problems)
    report = ImportReport()
    try:
        with transaction.atomic():
            # A status the file gives a stored dependency is a change like an answer on the
            # board: checked against the lifecycle, on rows locked until the file is in.
            _check_transitions(clean["dependencies"], problems)
            if problems:
                raise PlanningFileInvalid(problems)
            writer = _Writer(report)
            writer.write(clean)
            # Who is on a provider's side is known only once the file's squads, members and
            # people are in: checked here, inside the transaction, so a problem writes nothing.
            _check_owners(clean["dependencies"], problems)
            if problems:
                raise PlanningFileInvalid(problems)
            if tell:
                _tell(writer, report)
    except IntegrityError as exc:
        # The checks above mirror the database's constraints, so this means a concurrent
        # change or a rule the checks missed; either way nothing was written.
        problems.add("", f"the database refused the file and nothing was written: {exc}")
        raise PlanningFileInvalid(problems) from exc
    except DatabaseError as exc:
        problems.add("", f"the database failed while importing and nothing was written: {exc}")
        raise PlanningFileInvalid(problems) from exc
    review_enqueue_after_import(report)
    _analyze(writer.filled)
    return report


# A dependency's status as the file sets it, and the answer on the board it stands for.
ANSWER_OF_STATUS = {status: action for action, status in dependency_services.RESPONSES.items()}


def _tell(writer: _Writer, report: ImportReport) -> None:
    """Events for what the file changed in dependencies, sent once the import commits, and
    the needing squads' notifications of declines and risks, written with the import."""
    if writer.new_dependencies:
        dependency_events.publish_requested(writer.new_dependencies, by=None)
        report.told_requested = len(writer.new_dependencies)
    for dep, _was in writer.answered:
        action = ANSWER_OF_STATUS.get(dep.status)
        if action is None:  # back to requested: nobody answered
            continue
        dependency_events.publish_dependency(dependency_events.ANSWERED[action], dep, by=None)
        dependency_news_notify(dependency=dep, by=None, action=action)
        report.told_answers += 1


# Rows a file adds to one table past which the table's statistics are refreshed at once.
ANALYZE_AFTER_ROWS = 1000


def _analyze(filled: Counter) -> None:
    """Refresh the planner's statistics of the tables a file filled, as autovacuum would a
    minute or so later: until then PostgreSQL plans the board's and the exports' queries
    as if the tables were still nearly empty (measured: an export of 30,000 dependencies
    took 68 s right after their import, 3.5 s after ANALYZE)."""
    tables = sorted(table for table, rows in filled.items() if rows >= ANALYZE_AFTER_ROWS)
    if not tables or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


# --- checking ----------------------------------------------------------------------------


class _Checker(OutcomeChecks):
    """Turns the raw JSON into clean values, recording every problem with its path."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.v2 = True
        self._segment_objs: list[tuple[Obj, dict]] = []
        self._touchpoint_objs: list[tuple[Obj, dict]] = []

    def check(self, document: Any) -> dict[str, Any]:
        fmt = document.get("format") if isinstance(document, dict) else None
        # A file without a usable format line is read as the latest, so that its other
        # problems are reported as they are, not as keys of a later format.
        self.v2 = fmt != FORMAT_V1
        root = self._obj(
            document, "", required=("format",), optional=TOP_LEVEL[1:], v2=V2_TOP_LEVEL
        )
        if not root.ok:
            return {}
        if fmt is not None and fmt not in FORMATS:
            self.problems.add(
                "format",
                f"must be {quote(FORMAT_V1)} or {quote(FORMAT_V2)}, not {json_repr(fmt)}",
            )
        clean: dict[str, Any] = {"v2": self.v2}
        clean["cycles"] = self._cycles(root)
        clean["people"] = self._people(root)
        clean["segments"] = self._segments(root)
        clean["journeys"] = self._journeys(root)
        self._known_from_database(root, clean)
        clean["capacity"] = self._capacity(root)
        clean["goals"], clean["milestone_readings"] = [], []
        if self.v2:
            self._known_outcomes(clean)
            self._check_milestones()
            clean["goals"] = self._goals(root)
            self.goal_keys |= {goal["key"] for goal in clean["goals"] if goal["key"]}
        clean["squads"] = self._squads(root)
        if self.v2:
            self._check_touchpoints(clean["squads"])
            clean["milestone_readings"] = self._readings(root)
        clean["dependencies"] = self._dependencies(root)
        return clean

    # Names the rest of the file may refer to: those it defines plus those already stored.
    def _known_from_database(self, root: Obj, clean: dict[str, Any]) -> None:
        self.cycle_keys = {c["key"] for c in clean["cycles"]} | set(
            Cycle.objects.values_list("key", flat=True)
        )
        self.usernames = {p["username"] for p in clean["people"]}
        self.segment_keys = {s["key"] for s in clean["segments"]} | set(
            Segment.objects.values_list("key", flat=True)
        )
        self.stage_refs = {
            f"{j['key']}/{s['key']}" for j in clean["journeys"] for s in j["stages"]
        } | {f"{j}/{s}" for j, s in Stage.objects.values_list("journey__key", "key")}
        self.squad_keys: set[str] = set(Squad.objects.values_list("key", flat=True))
        self.initiative_refs: set[str] = {
            f"{sq}/{k}" for sq, k in Initiative.objects.values_list("squad__key", "key")
        }
        referenced = self._referenced_usernames(root)
        self.usernames |= set(
            User.objects.filter(username__in=referenced).values_list("username", flat=True)
        )

    @staticmethod
    def _referenced_usernames(root: Obj) -> set[str]:
        # Before the file is checked, so anything may sit anywhere.
        names: list[Any] = []
        for squad in _dicts(root.data.get("squads")):
            names.append(squad.get("dri"))
            names += [member.get("person") for member in _dicts(squad.get("members"))]
        names += [dep.get("owner") for dep in _dicts(root.data.get("dependencies"))]
        names += [goal.get("owner") for goal in _dicts(root.data.get("goals"))]
        for segment in _dicts(root.data.get("segments")):
            success = segment.get("success")
            if isinstance(success, dict):
                names.append(success.get("owner"))
        return {n for n in names if isinstance(n, str)}

    def _unique(self, path: str, name: str, value: str | None, seen: dict[str, str], what: str):
        if value is None:
            return
        if value in seen:
            self.problems.add(
                join(path, name), f"{what} {quote(value)} is already used at {seen[value]}"
            )
        else:
            seen[value] = path

    def _cycles(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        for path, raw in root.items("cycles"):
            o = Obj(raw, path, self.problems, required=("key", "name", "starts", "ends"))
            if not o.ok:
                continue
            item = {
                "key": o.key(),
                "name": o.text("name", max_length=200),
                "starts": o.date("starts"),
                "ends": o.date("ends"),
            }
            self._unique(path, "key", item["key"], seen, "cycle key")
            _check_order(self.problems, path, item["starts"], item["ends"])
            out.append(item)
        return out

    def _people(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        for path, raw in root.items("people"):
            o = Obj(
                raw,
                path,
                self.problems,
                required=("username", "name"),
                optional=("email", "title", "function"),
            )
            if not o.ok:
                continue
            item = {
                "username": o.username("username"),
                "name": o.text("name", max_length=200),
                "email": o.email("email"),
                "title": o.text("title", max_length=200, blank=True),
                "function": o.text("function", max_length=100, blank=True),
            }
            self._unique(path, "username", item["username"], seen, "username")
            out.append(item)
        return out

    def _segments(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        for path, raw in root.items("segments"):
            o = self._obj(
                raw,
                path,
                required=("key", "name"),
                optional=("description", "priority"),
                v2=V2_SEGMENT,
            )
            if not o.ok:
                continue
            item = {
                "key": o.key(),
                "name": o.text("name", max_length=200),
                "description": o.text("description", blank=True),
                "priority": o.integer("priority", 0, 32767),
            }
            if self.v2:
                self._segment_outcome(o, item)
            self._unique(path, "key", item["key"], seen, "segment key")
            out.append(item)
        return out

    def _journeys(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        file_segments = {
            s["key"] for s in _dicts(root.data.get("segments")) if isinstance(s.get("key"), str)
        }
        stored_segments = set(Segment.objects.values_list("key", flat=True))
        for path, raw in root.items("journeys"):
            o = Obj(
                raw,
                path,
                self.problems,
                required=("key", "name", "stages"),
                optional=("description", "segments"),
            )
            if not o.ok:
                continue
            item = {
                "key": o.key(),
                "name": o.text("name", max_length=200),
                "description": o.text("description", blank=True),
                "segments": [],
                "stages": [],
            }
            self._unique(path, "key", item["key"], seen, "journey key")
            seen_segments: dict[str, str] = {}
            for spath, seg in o.items("segments"):
                if not isinstance(seg, str):
                    self.problems.add(spath, "must be a segment key")
                elif seg not in file_segments and seg not in stored_segments:
                    self.problems.add(spath, f"no segment with key {quote(seg)}")
                elif seg in seen_segments:
                    self.problems.add(spath, f"segment {quote(seg)} is listed twice")
                else:
                    seen_segments[seg] = spath
                    item["segments"].append(seg)
            seen_stages: dict[str, str] = {}
            for spath, sraw in o.items("stages"):
                stage = self._stage(spath, sraw)
                if stage:
                    self._unique(spath, "key", stage["key"], seen_stages, "stage key")
                    item["stages"].append(stage)
            out.append(item)
        return out

    def _stage(self, path: str, raw: Any) -> dict | None:
        o = self._obj(
            raw,
            path,
            required=(
                "key",
                "name",
                "customer_goal",
                "today",
                "tomorrow",
                "emotion_today",
                "emotion_target",
            ),
            optional=("moments",),
            v2=V2_STAGE,
        )
        if not o.ok:
            return None
        stage = {
            "key": o.key(),
            "name": o.text("name", max_length=200),
            "customer_goal": o.text("customer_goal"),
            "today": o.text("today"),
            "tomorrow": o.text("tomorrow"),
            "emotion_today": o.integer("emotion_today", EMOTION_MIN, EMOTION_MAX),
            "emotion_target": o.integer("emotion_target", EMOTION_MIN, EMOTION_MAX),
            "moments": [],
        }
        if self.v2:
            stage["value_today"] = self._value(o, "value_today")
            stage["value_target"] = self._value(o, "value_target")
            stage["expansion"] = bool(o.boolean("expansion"))
        moment_keys: dict[str, str] = {}
        for mpath, mraw in o.items("moments"):
            m = self._obj(
                mraw, mpath, required=("when", "tomorrow"), optional=("today",), v2=V2_MOMENT
            )
            if not m.ok:
                continue
            # A time offset ("Day 1") or what happens ("First login"), which keeps its place
            # after the moment before it (journeys.models.Moment.save).
            when = m.text("when", max_length=40)
            moment = {
                "when": when,
                "today": m.text("today", blank=True),
                "tomorrow": m.text("tomorrow"),
            }
            if self.v2:
                self._moment_v2(m, moment, moment_keys)
            stage["moments"].append(moment)
        if self.v2:
            self._derive_moment_keys(stage["moments"], moment_keys)
        return stage

    def _capacity(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        for path, raw in root.items("capacity"):
            o = Obj(raw, path, self.problems, required=("function", "cycle", "headcount"))
            if not o.ok:
                continue
            item = {
                "function": o.text("function", max_length=100),
                "cycle": self._cycle_ref(o, "cycle"),
                "headcount": o.decimal("headcount", places=2, digits=8, minimum=Decimal(0)),
            }
            if item["function"] and item["cycle"]:
                self._unique(
                    path,
                    "function",
                    f"{item['function']}@{item['cycle']}",
                    seen,
                    "capacity for function and cycle",
                )
            out.append(item)
        return out

    def _cycle_ref(self, o: Obj, name: str) -> str | None:
        value = o.text(name, max_length=200)
        if value is not None and value not in self.cycle_keys:
            o._bad(name, f"no cycle with key {quote(value)}")
            return None
        return value

    def _person_ref(self, o: Obj, name: str) -> str | None:
        value = o.text(name, max_length=150)
        if value is not None and value not in self.usernames:
            o._bad(name, f"no person with username {quote(value)}")
            return None
        return value

    def _squads(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        raw_squads = root.items("squads")
        # Every squad key and initiative ref in the file, so dependencies can refer to them.
        for _, raw in raw_squads:
            if isinstance(raw, dict) and isinstance(raw.get("key"), str):
                self.squad_keys.add(raw["key"])
                for init in _dicts(raw.get("initiatives")):
                    if isinstance(init.get("key"), str):
                        self.initiative_refs.add(f"{raw['key']}/{init['key']}")
        for path, raw in raw_squads:
            o = Obj(
                raw,
                path,
                self.problems,
                required=("key", "name", "cycle", "dri", "members"),
                optional=("stages", "okr", "plan", "initiatives"),
            )
            if not o.ok:
                continue
            squad = {
                "key": o.key(),
                "name": o.text("name", max_length=200),
                "cycle": self._cycle_ref(o, "cycle"),
                "dri": self._person_ref(o, "dri"),
                "members": [],
                "stages": [],
                "okr": None,
                "plan": None,
                "initiatives": [],
            }
            self._unique(path, "key", squad["key"], seen, "squad key")
            members: dict[str, str] = {}
            for mpath, mraw in o.items("members"):
                m = Obj(mraw, mpath, self.problems, required=("person", "function"))
                if not m.ok:
                    continue
                person = self._person_ref(m, "person")
                function = m.text("function", max_length=100)
                self._unique(mpath, "person", person, members, "person")
                squad["members"].append({"person": person, "function": function})
            if squad["dri"] and squad["dri"] not in members and o.has("members"):
                o._bad("dri", f"{quote(squad['dri'])} must also be listed in members")
            if o.has("members") and not o.items("members"):
                o._bad("members", "a squad needs at least one member, its DRI")
            stages: dict[str, str] = {}
            for spath, ref in o.items("stages"):
                if not isinstance(ref, str):
                    self.problems.add(spath, f"must be a stage reference, not {json_repr(ref)}")
                elif ref not in self.stage_refs:
                    self.problems.add(spath, f"no journey stage {quote(ref)}")
                elif ref in stages:
                    self.problems.add(spath, f"stage {quote(ref)} is listed twice")
                else:
                    stages[ref] = spath
                    squad["stages"].append(ref)
            squad["okr"] = self._okr(o)
            squad["plan"] = self._plan(o)
            init_keys: dict[str, str] = {}
            for ipath, iraw in o.items("initiatives"):
                init = self._initiative(ipath, iraw)
                if init:
                    self._unique(ipath, "key", init["key"], init_keys, "initiative key")
                    squad["initiatives"].append(init)
            out.append(squad)
        return out

    def _okr(self, squad: Obj) -> dict | None:
        if not squad.has("okr"):
            return None
        o = self._obj(
            squad.data["okr"],
            join(squad.path, "okr"),
            required=("objective",),
            optional=("key_results",),
            v2=V2_OKR,
        )
        if not o.ok:
            return None
        okr = {"objective": o.text("objective"), "key_results": []}
        if self.v2:
            okr["goals"] = self._okr_goals(o)
        seen: dict[str, str] = {}
        for path, raw in o.items("key_results"):
            k = Obj(
                raw,
                path,
                self.problems,
                required=("key", "name"),
                optional=("unit", "baseline", "target", "current", "direction"),
            )
            if not k.ok:
                continue
            kr = {
                "key": k.key(),
                "name": k.text("name", max_length=200),
                "unit": k.text("unit", max_length=40, blank=True),
                "baseline": k.decimal("baseline", places=4, digits=18),
                "target": k.decimal("target", places=4, digits=18),
                "current": k.decimal("current", places=4, digits=18),
                "direction": k.choice("direction", ["increase", "decrease"]) or "increase",
            }
            self._unique(path, "key", kr["key"], seen, "key result key")
            okr["key_results"].append(kr)
        return okr

    def _plan(self, squad: Obj) -> dict | None:
        o = squad.obj(
            "plan",
            required=(),
            optional=("current_experience", "desired_experience", "success_metrics", "not_doing"),
        )
        if o is None:
            return None
        not_doing = []
        for path, item in o.items("not_doing"):
            if not isinstance(item, str) or not item.strip():
                self.problems.add(path, "must be a non-empty line of text")
            elif "\x00" in item or has_surrogate(item):
                self.problems.add(path, "must be plain text, without NUL or lone surrogates")
            elif len(item) > LONG_TEXT:
                self.problems.add(
                    path, f"is {len(item):,} characters long; the limit is {LONG_TEXT:,}"
                )
            else:
                not_doing.append(item)
        most = squad_services.NOT_DOING_MAX_LINES
        if len(not_doing) > most:
            self.problems.add(
                join(o.path, "not_doing"), f"has {len(not_doing):,} lines; the limit is {most:,}"
            )
        return {
            "current_experience": o.text("current_experience", blank=True),
            "desired_experience": o.text("desired_experience", blank=True),
            "success_metrics": o.text("success_metrics", blank=True),
            "not_doing": not_doing,
        }

    def _initiative(self, path: str, raw: Any) -> dict | None:
        o = self._obj(
            raw,
            path,
            required=("key", "title", "function", "starts", "ends", "headcount", "status"),
            optional=("description", "stage", "segment", "impact", "counter_measure"),
            v2=V2_INITIATIVE,
        )
        if not o.ok:
            return None
        init = {
            "key": o.key(),
            "title": o.text("title", max_length=300),
            "description": o.text("description", blank=True),
            "function": o.text("function", max_length=100),
            "stage": None,
            "segment": None,
            "starts": o.date("starts"),
            "ends": o.date("ends"),
            "headcount": o.decimal("headcount", places=2, digits=8, minimum=Decimal(0)),
            "status": o.choice("status", INITIATIVE_STATUSES),
            "impact": None,
            "counter_measure": o.text("counter_measure", blank=True),
        }
        if self.v2:
            init["milestones"] = self._milestone_refs_of(o)
        stage = o.text("stage", max_length=200, blank=True)
        if stage:
            if stage in self.stage_refs:
                init["stage"] = stage
            else:
                o._bad("stage", f"no journey stage {quote(stage)}")
        segment = o.text("segment", max_length=200, blank=True)
        if segment:
            if segment in self.segment_keys:
                init["segment"] = segment
            else:
                o._bad("segment", f"no segment with key {quote(segment)}")
        _check_order(self.problems, path, init["starts"], init["ends"])
        impact = o.obj("impact", required=("team", "business", "customer"))
        if impact is not None:
            init["impact"] = {
                side: impact.integer(side, IMPACT_MIN, IMPACT_MAX)
                for side in ("team", "business", "customer")
            }
        return init

    def _dependencies(self, root: Obj) -> list[dict]:
        out, seen = [], {}
        for path, raw in root.items("dependencies"):
            o = Obj(
                raw,
                path,
                self.problems,
                required=("key", "from", "what", "due", "blocking", "status"),
                optional=("to", "to_function", "owner", "note"),
            )
            if not o.ok:
                continue
            dep = {
                "path": path,
                "key": o.key(),
                "from": self._party_ref(o, "from"),
                "to": None,
                "to_function": None,
                "what": o.text("what"),
                "due": o.date("due"),
                "blocking": o.boolean("blocking"),
                "status": o.choice("status", DEPENDENCY_STATUSES),
                "owner": self._person_ref(o, "owner") if o.has("owner") else None,
                "note": o.text("note", blank=True),
            }
            self._unique(path, "key", dep["key"], seen, "dependency key")
            has_to, has_function = o.has("to"), o.has("to_function")
            if has_to and has_function:
                o._bad("to_function", "give either to or to_function, not both")
            elif not has_to and not has_function:
                o._bad(
                    "to",
                    "is required: the squad or initiative that provides it (or give to_function)",
                )
            elif has_to:
                dep["to"] = self._party_ref(o, "to")
            else:
                dep["to_function"] = o.text("to_function", max_length=100)
            if dep["from"] and dep["from"] == dep["to"]:
                o._bad("to", "a squad or initiative cannot depend on itself")
            out.append(dep)
        return out

    def _party_ref(self, o: Obj, name: str) -> str | None:
        """A squad key or a squad-key/initiative-key reference."""
        value = o.text(name, max_length=200)
        if value is None:
            return None
        if "/" in value:
            if value not in self.initiative_refs:
                o._bad(name, f"no initiative {quote(value)}")
                return None
        elif value not in self.squad_keys:
            o._bad(name, f"no squad with key {quote(value)}")
            return None
        return value


def _dicts(value: Any) -> list[dict]:
    """The objects of what should be a list of objects, whatever it really is."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _check_order(problems: Problems, path: str, starts: dt.date | None, ends: dt.date | None):
    if starts and ends and starts > ends:
        problems.add(
            join(path, "ends"), f"{ends.isoformat()} is before starts {starts.isoformat()}"
        )


# --- writing -----------------------------------------------------------------------------


class _Writer(OutcomeWrites):
    """Writes clean values, touching only rows whose values differ (so a re-import is a no-op)."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.v2 = True
        # The moments the file's stages hold, by "journey/stage/moment" (planning-file/2).
        self.moments: dict[str, Moment] = {}
        # The file's initiatives as written, by "squad/initiative".
        self.initiatives: dict[str, Initiative] = {}
        # Rows created in bulk, by table.
        self.filled: Counter = Counter()
        # Dependencies the file adds, and stored ones whose status it changes (with the
        # status before): what the import tells (_tell).
        self.new_dependencies: list[Dependency] = []
        self.answered: list[tuple[Dependency, str]] = []

    def upsert(self, model, lookup: dict[str, Any], values: dict[str, Any], label: str):
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = model.objects.create(**lookup, **values)
            self.report.record(label, "created")
            return obj
        changed = _changed(obj, values)
        if changed:
            for name in changed:
                setattr(obj, name, values[name])
            obj.save()
            self.report.record(label, "updated")
        else:
            self.report.record(label, "unchanged")
        return obj

    def upsert_many(self, model, rows: list[tuple[Any, dict, dict]], stored: dict, label: str):
        """`upsert` for many rows at once: `rows` are (match, lookup, values), `stored` the
        rows already there by match. New rows go in with one statement per batch, with
        their history entries and the reviews and plan stamps their saves would have moved
        (planning.changes.rows_saved); a stored row that differs is saved as `upsert`
        saves it (its versions move, its history records the change). Returns the rows in
        the order given."""
        written, created = [], []
        for match, lookup, values in rows:
            obj = stored.get(match)
            if obj is None:
                obj = model(**lookup, **values)
                created.append(obj)
                self.report.record(label, "created")
            elif changed := _changed(obj, values):
                for name in changed:
                    setattr(obj, name, values[name])
                obj.save()
                self.report.record(label, "updated")
            else:
                self.report.record(label, "unchanged")
            written.append(obj)
        if created:
            model.objects.bulk_create(created, batch_size=BULK_BATCH)
            self.filled[model._meta.db_table] += len(created)
            if hasattr(model, "history"):
                # As a save records it: no person (a command), no reason.
                model.history.bulk_history_create(
                    created, batch_size=BULK_BATCH, default_change_reason=None
                )
            rows_saved(model, created)
        return written

    def write(self, clean: dict[str, Any]) -> None:
        self.v2 = clean["v2"]
        cycles = {
            c["key"]: self.upsert(Cycle, {"key": c["key"]}, _without(c, "key"), "cycles")
            for c in clean["cycles"]
        }
        self.report.cycles |= set(cycles)
        self._people(clean["people"])
        for cap in clean["capacity"]:
            self.upsert(
                Capacity,
                {"cycle": Cycle.objects.get(key=cap["cycle"]), "function": cap["function"]},
                {"headcount": cap["headcount"]},
                "capacity",
            )
        users = {u.username: u for u in User.objects.all()}
        for seg in clean["segments"]:
            values = self._segment_values(seg, users)
            self.upsert(Segment, {"key": seg["key"]}, values, "segments")
        for journey in clean["journeys"]:
            self._journey(journey)
        stages = {f"{s.journey.key}/{s.key}": s for s in Stage.objects.select_related("journey")}
        segments = {s.key: s for s in Segment.objects.all()}
        if self.v2:
            moments = self._moment_refs()
            for seg in clean["segments"]:
                self._segment_milestones(segments[seg["key"]], seg["milestones"], moments)
            for position, goal in enumerate(clean["goals"]):
                self._goal(position, goal, users, segments)
        cycle_rows = {c.key: c for c in Cycle.objects.filter(key__in=self._cycle_keys(clean))}
        written = self._squads(clean["squads"], users, stages, cycle_rows)
        self._initiatives(written, stages, segments)
        if self.v2:
            for journey in clean["journeys"]:
                for stage in journey["stages"]:
                    for m in stage["moments"]:
                        ref = f"{journey['key']}/{stage['key']}/{m['key']}"
                        self._touchpoints(self.moments[ref], m["touchpoints"], segments)
            for reading in clean["milestone_readings"]:
                self._reading(reading)
        self._dependencies(clean["dependencies"], users)

    @staticmethod
    def _cycle_keys(clean: dict[str, Any]) -> set[str]:
        return {squad["cycle"] for squad in clean["squads"]}

    def _moment_refs(self) -> dict[str, Moment]:
        """Every live stage's moments by reference, those the file wrote included."""
        found = {
            m.ref: m
            for m in Moment.objects.filter(
                stage__removal__isnull=True, stage__journey__removal__isnull=True
            ).select_related("stage__journey")
        }
        return found | self.moments

    def _people(self, people: list[dict]) -> None:
        stored = {
            u.username: u for u in User.objects.filter(username__in=[p["username"] for p in people])
        }
        users, created = [], []
        for person in people:
            user = stored.get(person["username"])
            if user is None:
                user = User(username=person["username"], email=person["email"])
                user.set_unusable_password()
                created.append(user)
                self.report.record("people", "created")
            elif user.email != person["email"]:
                user.email = person["email"]
                user.save(update_fields=["email"])
                self.report.record("people", "updated")
            else:
                self.report.record("people", "unchanged")
            users.append(user)
        User.objects.bulk_create(created, batch_size=BULK_BATCH)
        stored_profiles = {p.user_id: p for p in Profile.objects.filter(user__in=stored.values())}
        rows = [
            (
                user.pk,
                {"user": user},
                {
                    "display_name": person["name"],
                    "title": person["title"],
                    "function": person["function"],
                },
            )
            for user, person in zip(users, people, strict=True)
        ]
        self.upsert_many(Profile, rows, stored_profiles, "profiles")

    def _journey(self, data: dict) -> None:
        journey = self.upsert(
            Journey,
            {"key": data["key"]},
            {"name": data["name"], "description": data["description"]},
            "journeys",
        )
        wanted = list(Segment.objects.filter(key__in=data["segments"]).values_list("key", "pk"))
        wanted_ids = {key: pk for key, pk in wanted}
        self._sync_links(
            JourneySegment.objects.filter(journey=journey),
            "segment_id",
            [wanted_ids[k] for k in data["segments"]],
            lambda seg_id: JourneySegment(journey=journey, segment_id=seg_id),
            "journey segments",
        )
        for position, stage_data in enumerate(data["stages"]):
            values = _without(stage_data, "key", "moments")
            values["position"] = position
            stage = self.upsert(
                Stage, {"journey": journey, "key": stage_data["key"]}, values, "stages"
            )
            if self.v2:
                written = self._moments_v2(stage, stage_data["moments"])
                for key, moment in written.items():
                    self.moments[f"{data['key']}/{stage_data['key']}/{key}"] = moment
            else:
                self._moments_v1(stage, stage_data["moments"])

    def _moments_v1(self, stage: Stage, moments: list[dict]) -> None:
        """A planning-file/1 stage's moments replace the stored ones. A stored moment whose
        when, today and tomorrow the file repeats is kept as it is (its key, value states,
        touchpoints and the milestones tied to it); any other is deleted, taking its
        touchpoints with it and untying its milestones, and the file's new ones are made."""
        stored = list(stage.moments.order_by("position", "id"))
        current = [{"when": m.when, "today": m.today, "tomorrow": m.tomorrow} for m in stored]
        if current == moments:
            self.report.record("moments", "unchanged")
            return
        kept: list[Moment | None] = []
        for m in moments:
            match = next((s for s, c in zip(stored, current, strict=True) if c == m), None)
            if match is not None:
                index = stored.index(match)
                del stored[index], current[index]
            kept.append(match)
        for moment in stored:
            moment.delete()
            self.report.deleted["moments"] += 1
        for position, (m, match) in enumerate(zip(moments, kept, strict=True)):
            if match is None:
                Moment.objects.create(
                    stage=stage, position=position, offset_days=parse_offset(m["when"]), **m
                )
                self.report.record("moments", "created")
            elif match.position != position:
                match.position = position
                match.save(update_fields=["position"])
                self.report.record("moments", "updated")
            else:
                self.report.record("moments", "unchanged")

    def _sync_links(self, existing_qs, field_name: str, wanted: list[int], make, label: str):
        """Make a set of link rows match `wanted`, keeping rows that already match."""
        existing = {getattr(link, field_name): link for link in existing_qs}
        stale = [link.pk for target, link in existing.items() if target not in wanted]
        if stale:
            existing_qs.model.objects.filter(pk__in=stale).delete()
            self.report.deleted[label] += len(stale)
        for target in wanted:
            if target in existing:
                self.report.record(label, "unchanged")
            else:
                make(target).save()
                self.report.record(label, "created")

    def _squads(
        self, squads: list[dict], users: dict, stages: dict, cycles: dict
    ) -> list[tuple[Squad, dict]]:
        """Every squad with its members, stages, OKR and plan, a few statements for each
        kind of row rather than a few for each row."""
        stored_squads = {s.key: s for s in Squad.objects.filter(key__in=[d["key"] for d in squads])}
        rows = [
            (
                data["key"],
                {"key": data["key"]},
                {"name": data["name"], "cycle": cycles[data["cycle"]], "dri": users[data["dri"]]},
            )
            for data in squads
        ]
        written = list(
            zip(self.upsert_many(Squad, rows, stored_squads, "squads"), squads, strict=True)
        )
        self._memberships(written, users)
        self._squad_stages(written, stages)
        self._okrs(written, cycles)
        stored_plans = {
            p.squad_id: p for p in Plan.objects.filter(squad__in=stored_squads.values())
        }
        rows = [
            (squad.pk, {"squad": squad}, data["plan"])
            for squad, data in written
            if data["plan"] is not None
        ]
        self.upsert_many(Plan, rows, stored_plans, "plans")
        return written

    def _memberships(self, squads: list[tuple[Squad, dict]], users: dict) -> None:
        """A squad's members are the file's: the others leave it."""
        stored: dict[tuple[int, int], Membership] = {
            (m.squad_id, m.person_id): m
            for m in Membership.objects.filter(squad__in=[squad for squad, _ in squads])
        }
        wanted = {
            (squad.pk, users[m["person"]].pk) for squad, data in squads for m in data["members"]
        }
        stale = [m.pk for match, m in stored.items() if match not in wanted]
        if stale:
            Membership.objects.filter(pk__in=stale).delete()
            self.report.deleted["memberships"] += len(stale)
        rows = [
            (
                (squad.pk, users[member["person"]].pk),
                {"squad": squad, "person": users[member["person"]]},
                {"function": member["function"]},
            )
            for squad, data in squads
            for member in data["members"]
        ]
        self.upsert_many(Membership, rows, stored, "memberships")

    def _squad_stages(self, squads: list[tuple[Squad, dict]], stages: dict) -> None:
        """The stages a squad covers are the file's (as _sync_links keeps links)."""
        stored: dict[tuple[int, int], SquadStage] = {
            (link.squad_id, link.stage_id): link
            for link in SquadStage.objects.filter(squad__in=[squad for squad, _ in squads])
        }
        wanted = [(squad, stages[ref]) for squad, data in squads for ref in data["stages"]]
        keep = {(squad.pk, stage.pk) for squad, stage in wanted}
        stale = [link.pk for match, link in stored.items() if match not in keep]
        if stale:
            SquadStage.objects.filter(pk__in=stale).delete()
            self.report.deleted["squad stages"] += len(stale)
        rows = [
            ((squad.pk, stage.pk), {"squad": squad, "stage": stage}, {}) for squad, stage in wanted
        ]
        self.upsert_many(SquadStage, rows, stored, "squad stages")

    def _okrs(self, squads: list[tuple[Squad, dict]], cycles: dict) -> None:
        with_okr = [(squad, data) for squad, data in squads if data["okr"] is not None]
        stored_okrs = {
            (okr.squad_id, okr.cycle_id): okr
            for okr in OKR.objects.filter(squad__in=[squad for squad, _ in with_okr])
        }
        rows = [
            (
                (squad.pk, cycles[data["cycle"]].pk),
                {"squad": squad, "cycle": cycles[data["cycle"]]},
                {"objective": data["okr"]["objective"]},
            )
            for squad, data in with_okr
        ]
        okrs = self.upsert_many(OKR, rows, stored_okrs, "OKRs")
        stored_krs = {
            (kr.okr_id, kr.key): kr for kr in KeyResult.objects.filter(okr__in=stored_okrs.values())
        }
        rows = [
            ((okr.pk, kr["key"]), {"okr": okr, "key": kr["key"]}, _without(kr, "key"))
            for okr, (_, data) in zip(okrs, with_okr, strict=True)
            for kr in data["okr"]["key_results"]
        ]
        self.upsert_many(KeyResult, rows, stored_krs, "key results")
        self._objectives_goals(
            [
                (okr, data["okr"]["goals"])
                for okr, (_, data) in zip(okrs, with_okr, strict=True)
                if "goals" in data["okr"]
            ]
        )

    def _initiatives(self, squads: list[tuple[Squad, dict]], stages: dict, segments: dict):
        """Every squad's initiatives, matched by squad and key, in a few statements."""
        stored = {
            (i.squad_id, i.key): i
            for i in Initiative.objects.filter(squad__in=[squad for squad, _ in squads])
        }
        rows, milestones = [], []
        for squad, data in squads:
            for init in data["initiatives"]:
                values = _without(init, "key", "impact", "stage", "segment", "milestones")
                values["stage"] = stages[init["stage"]] if init["stage"] else None
                values["segment"] = segments[init["segment"]] if init["segment"] else None
                impact = init["impact"] or {}
                for side in ("team", "business", "customer"):
                    values[f"impact_{side}"] = impact.get(side)
                lookup = {"squad": squad, "key": init["key"]}
                rows.append(((squad.pk, init["key"]), lookup, values))
                milestones.append(init.get("milestones"))
        written = self.upsert_many(Initiative, rows, stored, "initiatives")
        for (_, lookup, _), initiative in zip(rows, written, strict=True):
            self.initiatives[f"{lookup['squad'].key}/{lookup['key']}"] = initiative
        self._initiatives_milestones(
            [(i, refs) for i, refs in zip(written, milestones, strict=True) if refs is not None]
        )

    def _dependencies(self, dependencies: list[dict], users: dict) -> None:
        """Every dependency, matched by key, in a few statements."""
        parties = self._parties(dependencies)
        stored: dict[str, Dependency] = {}
        keys = [dep["key"] for dep in dependencies]
        for start in range(0, len(keys), BULK_BATCH):
            chunk = keys[start : start + BULK_BATCH]
            stored |= {d.key: d for d in Dependency.objects.filter(key__in=chunk)}
        rows = []
        for dep in dependencies:
            values = self._dependency_values(dep, users, parties)
            before = stored.get(dep["key"])
            if before is not None and before.status != values["status"]:
                # A file gives no reason: the reason of the status it replaces goes with it.
                values["status_reason"] = ""
            rows.append((dep["key"], {"key": dep["key"]}, values))
        was = {key: d.status for key, d in stored.items()}
        for dep in self.upsert_many(Dependency, rows, stored, "dependencies"):
            if dep.key not in was:
                self.new_dependencies.append(dep)
            elif was[dep.key] != dep.status:
                self.answered.append((dep, was[dep.key]))

    def _parties(self, dependencies: list[dict]) -> dict[str, tuple[str, Any]]:
        """Each squad key and initiative ref the dependencies name: the file's own, written
        above, and the stored ones it refers to, each read once."""
        refs = {dep["from"] for dep in dependencies} | {
            dep["to"] for dep in dependencies if dep["to"]
        }
        found: dict[str, tuple[str, Any]] = {}
        squad_keys = {ref for ref in refs if "/" not in ref}
        for squad in Squad.objects.filter(key__in=squad_keys):
            found[squad.key] = ("squad", squad)
        others: set[tuple[str, str]] = set()
        for ref in refs - squad_keys:
            if ref in self.initiatives:
                found[ref] = ("initiative", self.initiatives[ref])
            else:
                others.add(tuple(ref.split("/", 1)))
        if others:
            query = Initiative.objects.filter(
                squad__key__in={squad for squad, _ in others}, key__in={key for _, key in others}
            ).select_related("squad")
            for initiative in query:
                ref = f"{initiative.squad.key}/{initiative.key}"
                if ref in refs:
                    found[ref] = ("initiative", initiative)
        return found

    def _dependency_values(self, data: dict, users: dict, parties: dict) -> dict[str, Any]:
        values: dict[str, Any] = {
            "what": data["what"],
            "due": data["due"],
            "blocking": data["blocking"],
            "status": data["status"],
            "owner": users[data["owner"]] if data["owner"] else None,
            "note": data["note"],
            "from_squad": None,
            "from_initiative": None,
            "to_squad": None,
            "to_initiative": None,
            "to_function": data["to_function"] or "",
        }
        side, target = parties[data["from"]]
        values[f"from_{side}"] = target
        if data["to"]:
            side, target = parties[data["to"]]
            values[f"to_{side}"] = target
        return values


def _check_owners(dependencies: list[dict], problems: Problems) -> None:
    """Each owner on the provider side, by the rule every way in shares (check_owner)."""
    owned = [dep for dep in dependencies if dep["owner"]]
    users = {u.username: u for u in User.objects.filter(username__in={d["owner"] for d in owned})}
    named = {d["to"].split("/", 1)[0] for d in owned if d["to"]}
    named |= {d["from"].split("/", 1)[0] for d in owned}
    squads = {s.key: s for s in Squad.objects.filter(key__in=named)}
    sides = dependency_services.people_sides(list(users.values()))
    for dep in owned:
        owner = users[dep["owner"]]
        provider_squad = None
        if dep["to"]:
            squad_key = dep["to"].split("/", 1)[0]
            provider_squad = squads.get(squad_key) or Squad.objects.get(key=squad_key)
        try:
            needer_key = dep["from"].split("/", 1)[0]
            needer = squads.get(needer_key) or Squad.objects.filter(key=needer_key).first()
            dependency_services.check_owner(
                owner=owner,
                provider_squad=provider_squad,
                to_function=dep["to_function"] or "",
                sides=sides[owner.pk],
                needer_squad_id=needer.pk if needer is not None else None,
            )
        except ValidationError as exc:
            for message in exc.message_dict["owner"]:
                problems.add(join(dep["path"], "owner"), message)


def _check_transitions(dependencies: list[dict], problems: Problems) -> None:
    """A new dependency may start in any status (the file records a state); a stored one
    changes status only as the lifecycle allows (TRANSITIONS)."""
    stored = dict(
        Dependency.objects.select_for_update()
        .filter(key__in=[dep["key"] for dep in dependencies])
        .order_by("pk")
        .values_list("key", "status")
    )
    for dep in dependencies:
        current = stored.get(dep["key"])
        if current is None or current == dep["status"]:
            continue
        subject = f"stored dependency {quote(dep['key'])}"
        if problem := transition_problem(current, dep["status"], as_values=True, subject=subject):
            problems.add(join(dep["path"], "status"), problem.rstrip("."))


def _without(data: dict, *names: str) -> dict:
    return {k: v for k, v in data.items() if k not in names}


def _changed(obj, values: dict[str, Any]) -> list[str]:
    """The names in `values` whose value differs from the row's. A related row is compared
    by its id, so nothing is loaded to compare it."""
    changed = []
    for name, value in values.items():
        field = obj._meta.get_field(name)
        if field.many_to_one:
            if getattr(obj, field.attname) != getattr(value, "pk", None):
                changed.append(name)
        elif _differs(getattr(obj, name), value):
            changed.append(name)
    return changed


def _differs(current: Any, wanted: Any) -> bool:
    if isinstance(current, Decimal) or isinstance(wanted, Decimal):
        if current is None or wanted is None:
            return current is not wanted
        return Decimal(current) != Decimal(wanted)
    if hasattr(current, "pk") or hasattr(wanted, "pk"):
        return getattr(current, "pk", None) != getattr(wanted, "pk", None)
    return current != wanted
