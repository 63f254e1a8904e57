"""The parts of a planning file that planning-file/2 adds: the customer's outcomes.

Company goals and the objectives serving them, each segment's success outcome and its
time-to-value map (milestones, tied to moments, and their readings), the value states of
stages and moments, expansion stages, moment keys, touchpoints, and the milestones an
initiative serves. The importer's checker and writer take these from here (as mixins), so
that the order of the whole import still reads top to bottom in importer.py.

A planning-file/1 document names none of them: its import leaves them as they are (see
`_moments_v1` in importer.py for the one place a v1 import can reach them, a stage's moments).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from journeys import readings
from journeys.models import (
    TOUCHPOINTS_PER_MOMENT,
    VALUE_CHOICES,
    JourneySegment,
    Milestone,
    MilestoneReading,
    Moment,
    Segment,
    Stage,
    Touchpoint,
    moment_key,
)
from planning.planning_file.reader import Obj, Problems, join, json_repr, quote
from squads.models import Goal, Initiative, ObjectiveGoal, Squad
from squads.services import GOAL_MAX_YEARS, GOAL_YEAR_MAX, GOAL_YEAR_MIN

FORMAT_V1 = "planning-file/1"
FORMAT_V2 = "planning-file/2"
FORMATS = (FORMAT_V1, FORMAT_V2)

# Value states are written as words: "first_value" reads better in a file than 2.
VALUE_WORDS = {
    label.lower().replace(" ", "_"): number for number, label in VALUE_CHOICES
}  # none, promised, first_value, repeat_value, expanding
VALUE_NAMES = {number: word for word, number in VALUE_WORDS.items()}
CHANNELS = list(Touchpoint.Channel.values)
READING_SOURCES = list(MilestoneReading.Source.values)
# As the segments' pages bound them: a success outcome within ten years at most, a milestone
# expected within ten years of the customer's start.
WITHIN_DAYS_MAX = 3650
EXPECTED_DAY_MAX = 3650
# As every other way in bounds a reading (journeys.readings): measured up to today, a note
# of NOTE_MAX characters.
READING_NOTE_MAX = readings.NOTE_MAX
PERCENT = Decimal(100)

# The keys planning-file/2 adds, per object: in a planning-file/1 document each is refused
# with a sentence naming the format it needs.
V2_TOP_LEVEL = ("goals", "milestone_readings")
V2_SEGMENT = ("success", "milestone_feed_url", "milestones")
V2_STAGE = ("value_today", "value_target", "expansion")
V2_MOMENT = ("key", "value_today", "value_target", "touchpoints")
V2_OKR = ("goals",)
V2_INITIATIVE = ("milestones",)


def value_word(number: int | None) -> str | None:
    return None if number is None else VALUE_NAMES[number]


def split_moment_ref(ref: str) -> tuple[str, str] | None:
    """("journey/stage", "moment") of a moment reference, or None if it is not one."""
    parts = ref.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return f"{parts[0]}/{parts[1]}", parts[2]


class OutcomeChecks:
    """Checking the planning-file/2 parts; mixed into the importer's _Checker."""

    problems: Problems
    v2: bool
    usernames: set[str]
    segment_keys: set[str]
    stage_refs: set[str]
    squad_keys: set[str]

    def _obj(
        self,
        raw: Any,
        path: str,
        *,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        v2: tuple[str, ...] = (),
    ) -> Obj:
        """An object whose `v2` keys are allowed in a planning-file/2 document and refused,
        naming the format they need, in a planning-file/1 one."""
        if self.v2:
            return Obj(raw, path, self.problems, required=required, optional=optional + v2)
        return Obj(
            raw,
            path,
            self.problems,
            required=required,
            optional=optional,
            later=v2,
            written_as=FORMAT_V1,
        )

    def _value(self, o: Obj, name: str) -> int | None:
        word = o.choice(name, list(VALUE_WORDS))
        return None if word is None else VALUE_WORDS[word]

    # --- segments: success outcome and feed (milestones are checked once moments are known)

    def _segment_outcome(self, o: Obj, item: dict) -> None:
        item["milestone_feed_url"] = o.url("milestone_feed_url", max_length=500)
        item["success"] = None
        item["milestones"] = []
        self._segment_objs.append((o, item))

    def _segment_success(self, o: Obj, item: dict) -> None:
        s = o.obj(
            "success", required=("metric", "threshold", "within_days"), optional=("unit", "owner")
        )
        if s is None:
            return
        item["success"] = {
            "metric": s.text("metric", max_length=200),
            "threshold": s.decimal("threshold", places=2, digits=12, minimum=Decimal(0)),
            "unit": s.text("unit", max_length=20, blank=True),
            "within_days": s.integer("within_days", 1, WITHIN_DAYS_MAX),
            "owner": self._person_ref(s, "owner") if s.has("owner") else None,
        }

    # --- moments: keys, value states, touchpoints (checked once squads are known)

    def _moment_v2(self, m: Obj, moment: dict, stage_keys: dict[str, str]) -> None:
        moment["key"] = None
        if m.has("key"):
            key = m.key("key")
            if key is not None:
                if key in stage_keys:
                    m._bad("key", f"moment key {quote(key)} is already used at {stage_keys[key]}")
                else:
                    stage_keys[key] = m.path
                moment["key"] = key
        moment["value_today"] = self._value(m, "value_today")
        moment["value_target"] = self._value(m, "value_target")
        moment["touchpoints"] = []
        self._touchpoint_objs.append((m, moment))

    @staticmethod
    def _derive_moment_keys(moments: list[dict], explicit: dict[str, str]) -> None:
        """A key for each moment written without one, from its "when", as the app makes it
        (journeys.models.moment_key), never one another moment of the stage has."""
        taken = set(explicit)
        for moment in moments:
            if moment.get("key") is None and "key" in moment:
                moment["key"] = moment_key(moment["when"] or "", taken)
                taken.add(moment["key"])

    def _known_outcomes(self, clean: dict[str, Any]) -> None:
        """The moments, milestones and goals the rest of the file may refer to."""
        stored_moments: dict[str, set[str]] = {}
        for journey, stage, key in Moment.objects.filter(
            stage__removal__isnull=True, stage__journey__removal__isnull=True
        ).values_list("stage__journey__key", "stage__key", "key"):
            stored_moments.setdefault(f"{journey}/{stage}", set()).add(key)
        self.moment_keys = stored_moments
        # A stage the file describes has exactly the file's moments.
        for journey in clean["journeys"]:
            for stage in journey["stages"]:
                ref = f"{journey['key']}/{stage['key']}"
                self.moment_keys[ref] = {m.get("key") for m in stage["moments"]} - {None}
        # Which segments each journey is for: a milestone's moment is in one of its segment's.
        self.journey_segments: dict[str, set[str]] = {}
        for journey, segment in JourneySegment.objects.filter(
            journey__removal__isnull=True
        ).values_list("journey__key", "segment__key"):
            self.journey_segments.setdefault(journey, set()).add(segment)
        for journey in clean["journeys"]:
            self.journey_segments[journey["key"]] = set(journey["segments"])
        self.milestone_refs = {
            f"{segment}/{key}"
            for segment, key in Milestone.objects.values_list("segment__key", "key")
        }
        self.goal_keys = set(Goal.objects.values_list("key", flat=True))

    def _moment_ref(self, o: Obj, name: str, segment: str | None) -> str | None:
        value = o.text(name, max_length=200)
        if value is None:
            return None
        parts = split_moment_ref(value)
        if parts is None:
            o._bad(name, f'must be a moment written "journey/stage/moment", not {json_repr(value)}')
            return None
        stage_ref, key = parts
        if stage_ref not in self.stage_refs:
            o._bad(name, f"no journey stage {quote(stage_ref)}")
            return None
        if key not in self.moment_keys.get(stage_ref, set()):
            o._bad(name, f"no moment {quote(key)} in stage {quote(stage_ref)}")
            return None
        journey = stage_ref.split("/", 1)[0]
        if segment and segment not in self.journey_segments.get(journey, set()):
            o._bad(
                name,
                f"moment {quote(value)} is in journey {quote(journey)}, which is not for "
                f"segment {quote(segment)}: tie a milestone to a moment of its segment's journeys",
            )
            return None
        return value

    def _check_milestones(self) -> None:
        for o, item in self._segment_objs:
            self._segment_success(o, item)
            seen: dict[str, str] = {}
            success_at: str | None = None
            for path, raw in o.items("milestones"):
                m = Obj(
                    raw,
                    path,
                    self.problems,
                    required=("key", "name", "expected_day"),
                    optional=("description", "moment", "success"),
                )
                if not m.ok:
                    continue
                milestone = {
                    "key": m.key(),
                    "name": m.text("name", max_length=200),
                    "description": m.text("description", blank=True),
                    "expected_day": m.integer("expected_day", 0, EXPECTED_DAY_MAX),
                    "moment": self._moment_ref(m, "moment", item["key"])
                    if m.has("moment")
                    else None,
                    "success": bool(m.boolean("success")),
                }
                self._unique(path, "key", milestone["key"], seen, "milestone key")
                if milestone["success"]:
                    if success_at is not None:
                        m._bad(
                            "success",
                            f"segment {quote(item['key'])} already has its success milestone "
                            f"at {success_at}; a segment has one",
                        )
                    else:
                        success_at = path
                if item["key"] and milestone["key"]:
                    self.milestone_refs.add(f"{item['key']}/{milestone['key']}")
                item["milestones"].append(milestone)

    # --- goals ------------------------------------------------------------------------------

    def _goals(self, root: Obj) -> list[dict]:
        out: list[dict] = []
        seen: dict[str, str] = {}
        for path, raw in root.items("goals"):
            o = Obj(
                raw,
                path,
                self.problems,
                required=("key", "name", "starts_year", "ends_year"),
                optional=("description", "customer_success", "owner", "segments"),
            )
            if not o.ok:
                continue
            goal = {
                "key": o.key(),
                "name": o.text("name", max_length=200),
                "description": o.text("description", blank=True),
                "customer_success": o.text("customer_success", blank=True),
                "starts_year": o.integer("starts_year", GOAL_YEAR_MIN, GOAL_YEAR_MAX),
                "ends_year": o.integer("ends_year", GOAL_YEAR_MIN, GOAL_YEAR_MAX),
                "owner": self._person_ref(o, "owner") if o.has("owner") else None,
                "segments": self._segment_list(o, "segments"),
            }
            self._unique(path, "key", goal["key"], seen, "goal key")
            starts, ends = goal["starts_year"], goal["ends_year"]
            if starts is not None and ends is not None:
                if ends < starts:
                    o._bad("ends_year", f"{ends} is before starts_year {starts}")
                elif ends - starts + 1 > GOAL_MAX_YEARS:
                    o._bad(
                        "ends_year",
                        f"a goal spans at most {GOAL_MAX_YEARS} years, not {ends - starts + 1}",
                    )
            out.append(goal)
        return out

    def _segment_list(self, o: Obj, name: str) -> list[str]:
        keys: list[str] = []
        for path, value in o.items(name):
            if not isinstance(value, str):
                self.problems.add(path, f"must be a segment key, not {json_repr(value)}")
            elif value not in self.segment_keys:
                self.problems.add(path, f"no segment with key {quote(value)}")
            elif value in keys:
                self.problems.add(path, f"segment {quote(value)} is listed twice")
            else:
                keys.append(value)
        return keys

    def _ref_list(self, o: Obj, name: str, known: set[str], what: str, shape: str) -> list[str]:
        refs: list[str] = []
        for path, value in o.items(name):
            if not isinstance(value, str):
                self.problems.add(path, f"must be {shape}, not {json_repr(value)}")
            elif value not in known:
                self.problems.add(path, f"no {what} {quote(value)}")
            elif value in refs:
                self.problems.add(path, f"{what} {quote(value)} is listed twice")
            else:
                refs.append(value)
        return refs

    def _okr_goals(self, o: Obj) -> list[str]:
        return self._ref_list(o, "goals", self.goal_keys, "goal", "a goal key")

    def _milestone_refs_of(self, o: Obj) -> list[str]:
        return self._ref_list(
            o, "milestones", self.milestone_refs, "milestone", 'a milestone "segment/milestone"'
        )

    # --- touchpoints (after the squads, which they may name) -------------------------------

    def _check_touchpoints(self, squads: list[dict]) -> None:
        cycles = {s["cycle"] for s in squads if s.get("cycle")}
        file_squads = {s["key"]: s.get("cycle") for s in squads if s.get("key")}
        stored = dict(Squad.objects.values_list("key", "cycle__key"))
        for m, moment in self._touchpoint_objs:
            points = list(m.items("touchpoints"))
            if len(points) > TOUCHPOINTS_PER_MOMENT:
                self.problems.add(
                    f"{m.path}.touchpoints",
                    f"at most {TOUCHPOINTS_PER_MOMENT} touchpoints in a moment, not {len(points)}",
                )
                continue
            for path, raw in points:
                t = Obj(
                    raw,
                    path,
                    self.problems,
                    required=("channel",),
                    optional=("function", "squad", "segment", "message"),
                )
                if not t.ok:
                    continue
                point = {
                    "channel": t.choice("channel", CHANNELS),
                    "function": t.text("function", max_length=100, blank=True),
                    "squad": None,
                    "segment": None,
                    "message": t.text("message", blank=True),
                }
                squad = t.text("squad", max_length=200, blank=True)
                if squad:
                    if squad in file_squads:
                        point["squad"] = squad
                    elif squad not in stored:
                        t._bad("squad", f"no squad with key {quote(squad)}")
                    elif cycles and stored[squad] not in cycles:
                        t._bad(
                            "squad",
                            f"squad {quote(squad)} is of cycle {quote(stored[squad])}; a "
                            "touchpoint names a squad of the cycle of this file's squads "
                            f"({', '.join(quote(c) for c in sorted(cycles))})",
                        )
                    else:
                        point["squad"] = squad
                segment = t.text("segment", max_length=200, blank=True)
                if segment:
                    if segment in self.segment_keys:
                        point["segment"] = segment
                    else:
                        t._bad("segment", f"no segment with key {quote(segment)}")
                if not point["function"] and not squad:
                    self.problems.add(
                        join(path, "function"),
                        "is required when there is no squad: say who speaks to the customer "
                        "(a function, a squad or both)",
                    )
                moment["touchpoints"].append(point)

    # --- readings ----------------------------------------------------------------------------

    def _readings(self, root: Obj) -> list[dict]:
        out: list[dict] = []
        seen: dict[str, str] = {}
        for path, raw in root.items("milestone_readings"):
            o = Obj(
                raw,
                path,
                self.problems,
                required=("milestone", "measured_on"),
                optional=("actual_days", "completion_rate", "customers", "note", "source"),
            )
            if not o.ok:
                continue
            milestone = o.text("milestone", max_length=200)
            if milestone is not None and milestone not in self.milestone_refs:
                if "/" not in milestone:
                    o._bad(
                        "milestone",
                        f'must be a milestone written "segment/milestone", not '
                        f"{json_repr(milestone)}",
                    )
                else:
                    o._bad("milestone", f"no milestone {quote(milestone)}")
                milestone = None
            reading = {
                "milestone": milestone,
                "measured_on": o.date("measured_on"),
                "actual_days": o.decimal("actual_days", places=1, digits=8, minimum=Decimal(0)),
                "completion_rate": o.decimal(
                    "completion_rate", places=2, digits=5, minimum=Decimal(0)
                ),
                "customers": o.integer("customers", 0, 2**31 - 1),
                "note": o.text("note", max_length=READING_NOTE_MAX, blank=True),
                "source": o.choice("source", READING_SOURCES) or MilestoneReading.Source.CHECK_IN,
            }
            day = reading["measured_on"]
            if day is not None and day > timezone.localdate():
                o._bad(
                    "measured_on",
                    f"{day.isoformat()} is in the future: a reading records what was measured, "
                    "up to today",
                )
            rate = reading["completion_rate"]
            if rate is not None and rate > PERCENT:
                shown = json_repr(o.data["completion_rate"])
                o._bad("completion_rate", f"must be from 0 to 100, not {shown}")
                reading["completion_rate"] = None
            if not o.has("actual_days") and not o.has("completion_rate"):
                o._bad(
                    "completion_rate",
                    "give completion_rate or actual_days (or both): a reading says how "
                    "customers are doing at the milestone",
                )
            if milestone and reading["measured_on"]:
                identity = f"{milestone}@{reading['measured_on'].isoformat()}"
                if identity in seen:
                    o._bad(
                        "measured_on",
                        f"milestone {quote(milestone)} already has a reading on "
                        f"{reading['measured_on'].isoformat()} at {seen[identity]}",
                    )
                else:
                    seen[identity] = path
            out.append(reading)
        return out


class OutcomeWrites:
    """Writing the planning-file/2 parts; mixed into the importer's _Writer."""

    def _segment_values(self, seg: dict, users: dict) -> dict:
        values = {"name": seg["name"], "description": seg["description"]}
        values["priority"] = seg["priority"]
        if "success" not in seg:
            return values  # planning-file/1: the success outcome stays as it is
        success = seg["success"] or {}
        values.update(
            {
                "success_metric": success.get("metric") or "",
                "success_threshold": success.get("threshold"),
                "success_unit": success.get("unit") or "",
                "success_within_days": success.get("within_days"),
                "success_owner": users[success["owner"]] if success.get("owner") else None,
                "milestone_feed_url": seg["milestone_feed_url"],
            }
        )
        return values

    def _moments_v2(self, stage: Stage, moments: list[dict]) -> dict[str, Moment]:
        """Moments matched by key: a moment the file keeps keeps its touchpoints and the
        milestones tied to it; one the file leaves out is deleted with its touchpoints."""
        existing = {m.key: m for m in stage.moments.all()}
        wanted = {m["key"] for m in moments}
        for key, moment in existing.items():
            if key not in wanted:
                moment.delete()
                self.report.deleted["moments"] += 1
        written = {}
        for position, m in enumerate(moments):
            values = {
                "when": m["when"],
                "today": m["today"],
                "tomorrow": m["tomorrow"],
                "value_today": m["value_today"],
                "value_target": m["value_target"],
                "position": position,
            }
            moment = self.upsert(Moment, {"stage": stage, "key": m["key"]}, values, "moments")
            written[m["key"]] = moment
        return written

    def _segment_milestones(self, segment: Segment, milestones: list[dict], moments: dict):
        success = next((m["key"] for m in milestones if m["success"]), None)
        if success is not None:
            # One success milestone a segment: the file's, so any other gives it up first.
            for other in Milestone.objects.filter(segment=segment, success=True).exclude(
                key=success
            ):
                other.success = False
                other.save(update_fields=["success"])
                self.report.record("milestones", "updated")
        ordered = sorted(enumerate(milestones), key=lambda pair: pair[1]["success"])
        for position, m in ordered:
            values = {
                "name": m["name"],
                "description": m["description"],
                "position": position,
                "expected_day": m["expected_day"],
                "moment": moments[m["moment"]] if m["moment"] else None,
                "success": m["success"],
            }
            self.upsert(Milestone, {"segment": segment, "key": m["key"]}, values, "milestones")

    def _goal(self, position: int, data: dict, users: dict, segments: dict) -> Goal:
        goal = self.upsert(
            Goal,
            {"key": data["key"]},
            {
                "name": data["name"],
                "description": data["description"],
                "customer_success": data["customer_success"],
                "starts_year": data["starts_year"],
                "ends_year": data["ends_year"],
                "owner": users[data["owner"]] if data["owner"] else None,
                "position": position,
            },
            "goals",
        )
        through = Goal.segments.through
        self._sync_rows(
            through.objects.filter(goal=goal),
            "segment_id",
            [segments[key].pk for key in data["segments"]],
            lambda segment_id: through(goal=goal, segment_id=segment_id),
            "goal segments",
        )
        return goal

    def _objectives_goals(self, wanted: list[tuple[Any, list[str]]]) -> None:
        """Each objective serves the goals the file lists: the stored links and the goals
        read once, a link to add or remove written row by row."""
        goals = dict(
            Goal.objects.filter(key__in={key for _, keys in wanted for key in keys}).values_list(
                "key", "pk"
            )
        )
        stored: dict[int, list] = {}
        for row in ObjectiveGoal.objects.filter(okr__in=[okr for okr, _ in wanted]).order_by("id"):
            stored.setdefault(row.okr_id, []).append(row)
        for okr, keys in wanted:
            if not keys and okr.pk not in stored:
                continue
            self._sync_rows(
                ObjectiveGoal.objects.filter(okr=okr),
                "goal_id",
                [goals[key] for key in keys],
                lambda goal_id, okr=okr: ObjectiveGoal(okr=okr, goal_id=goal_id),
                "objective goals",
                existing=stored.get(okr.pk, []),
            )

    def _initiatives_milestones(self, wanted: list[tuple[Initiative, list[str]]]) -> None:
        """Each initiative is tied to the milestones the file lists: the stored links and the
        milestones read once, a link to add or remove written row by row."""
        refs = {ref for _, ids in wanted for ref in ids}
        milestones = {
            f"{segment_key}/{key}": pk
            for pk, segment_key, key in Milestone.objects.filter(
                segment__key__in={ref.partition("/")[0] for ref in refs},
                key__in={ref.partition("/")[2] for ref in refs},
            ).values_list("pk", "segment__key", "key")
        }
        link = Initiative.milestones.through
        stored: dict[int, list] = {}
        initiative_ids = [initiative.pk for initiative, _ in wanted]
        for start in range(0, len(initiative_ids), 2000):
            chunk = initiative_ids[start : start + 2000]
            for row in link.objects.filter(initiative_id__in=chunk).order_by("id"):
                stored.setdefault(row.initiative_id, []).append(row)
        for initiative, ids in wanted:
            if not ids and initiative.pk not in stored:
                continue
            self._sync_rows(
                link.objects.filter(initiative=initiative),
                "milestone_id",
                [milestones[ref] for ref in ids],
                lambda milestone_id, initiative=initiative: link(
                    initiative=initiative, milestone_id=milestone_id
                ),
                "initiative milestones",
                existing=stored.get(initiative.pk, []),
            )

    def _sync_rows(
        self,
        existing_qs,
        field_name: str,
        wanted: list[int],
        make,
        label: str,
        existing: list | None = None,
    ):
        """Make a set of link rows match `wanted`, row by row (each write is seen by
        planning/changes.py: reviews queued, pages moved), keeping rows that already match."""
        if existing is None:
            existing = list(existing_qs.order_by("id"))
        existing = {getattr(link, field_name): link for link in existing}
        for target, link in existing.items():
            if target not in wanted:
                link.delete()
                self.report.deleted[label] += 1
        for target in wanted:
            if target in existing:
                self.report.record(label, "unchanged")
            else:
                make(target).save()
                self.report.record(label, "created")

    def _touchpoints(self, moment: Moment, points: list[dict], segments: dict) -> None:
        squads = dict(
            Squad.objects.filter(key__in={p["squad"] for p in points if p["squad"]}).values_list(
                "key", "pk"
            )
        )
        wanted = [
            (
                p["channel"],
                p["function"],
                squads[p["squad"]] if p["squad"] else None,
                segments[p["segment"]].pk if p["segment"] else None,
                p["message"],
            )
            for p in points
        ]
        current = list(moment.touchpoints.order_by("position", "id"))
        shown = [(t.channel, t.function, t.squad_id, t.segment_id, t.message) for t in current]
        if shown == wanted:
            self.report.unchanged["touchpoints"] += len(current)
            return
        for point in current:
            point.delete()
            self.report.deleted["touchpoints"] += 1
        for position, (channel, function, squad_id, segment_id, message) in enumerate(wanted):
            Touchpoint.objects.create(
                moment=moment,
                position=position,
                channel=channel,
                function=function,
                squad_id=squad_id,
                segment_id=segment_id,
                message=message,
            )
            self.report.record("touchpoints", "created")

    def _reading(self, data: dict) -> None:
        segment_key, _, key = data["milestone"].partition("/")
        milestone = Milestone.objects.get(segment__key=segment_key, key=key)
        self.upsert(
            MilestoneReading,
            {"milestone": milestone, "measured_on": data["measured_on"]},
            {
                "actual_days": data["actual_days"],
                "completion_rate": data["completion_rate"],
                "customers": data["customers"],
                "note": data["note"],
                "source": data["source"],
            },
            "milestone readings",
        )
