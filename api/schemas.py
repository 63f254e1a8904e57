"""What the API reads and writes. References use the planning file's shapes: squads and
journeys by key, initiatives as "SQUAD/KEY", stages as "JOURNEY/STAGE", people by username."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, field_validator

from core.keys import KEY_MAX_LENGTH
from core.validators import DATE_FORMAT, DATE_RANGE, is_blank, parse_date
from journeys.outcomes import outcome_sentence


def _plan_date(value):
    # Before pydantic's own date parsing, which also takes numbers (seconds since 1970) and
    # date-times: a date is written exactly YYYY-MM-DD, within the planning range.
    if not isinstance(value, str):
        raise ValueError(f"write the date as {DATE_FORMAT}")
    return parse_date(value)


def _visible(value: str) -> str:
    if is_blank(value):
        raise ValueError("must hold visible characters, not only spaces or invisible ones")
    return value


PlanDate = Annotated[
    dt.date,
    BeforeValidator(_plan_date),
    Field(description=f"Written {DATE_FORMAT}, {DATE_RANGE}."),
]
Visible = Annotated[str, AfterValidator(_visible)]


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _initiative_ref(initiative) -> str | None:
    return f"{initiative.squad.key}/{initiative.key}" if initiative is not None else None


def _stage_ref(stage) -> str | None:
    return f"{stage.journey.key}/{stage.key}" if stage is not None else None


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class CycleOut(Schema):
    key: str
    name: str
    starts: dt.date
    ends: dt.date


class MomentOut(Schema):
    when: str
    today: str
    tomorrow: str


class StageOut(Schema):
    key: str
    name: str
    position: int
    customer_goal: str
    today: str
    tomorrow: str
    emotion_today: int
    emotion_target: int
    moments: list[MomentOut]

    @staticmethod
    def resolve_moments(stage) -> list:
        return list(stage.moments.all())


class JourneyOut(Schema):
    key: str
    name: str
    description: str
    segments: list[str]
    stages: list[StageOut]

    @staticmethod
    def resolve_segments(journey) -> list[str]:
        return [segment.key for segment in journey.segments.all()]

    @staticmethod
    def resolve_stages(journey) -> list:
        return list(journey.stages.all())


class MemberOut(Schema):
    person: str
    name: str
    function: str

    @staticmethod
    def resolve_person(membership) -> str:
        return membership.person.get_username()

    @staticmethod
    def resolve_name(membership) -> str:
        profile = getattr(membership.person, "profile", None)
        return profile.display_name if profile else membership.person.get_username()


class KeyResultOut(Schema):
    key: str
    name: str
    unit: str
    baseline: Decimal | None
    target: Decimal | None
    current: Decimal | None
    direction: str


class OKROut(Schema):
    objective: str
    key_results: list[KeyResultOut]

    @staticmethod
    def resolve_key_results(okr) -> list:
        return list(okr.key_results.all())


class SquadOut(Schema):
    key: str
    name: str
    cycle: str
    dri: str
    members: list[MemberOut]
    stages: list[str]
    okr: OKROut | None

    @staticmethod
    def resolve_cycle(squad) -> str:
        return squad.cycle.key

    @staticmethod
    def resolve_dri(squad) -> str:
        return squad.dri.get_username()

    @staticmethod
    def resolve_members(squad) -> list:
        return list(squad.memberships.all())

    @staticmethod
    def resolve_stages(squad) -> list[str]:
        return [_stage_ref(stage) for stage in squad.stages.all()]

    @staticmethod
    def resolve_okr(squad):
        okrs = [okr for okr in squad.okrs.all() if okr.cycle_id == squad.cycle_id]
        return okrs[0] if okrs else None


class CheckInOut(Schema):
    id: int
    value: Decimal
    confidence: int
    note: str
    author: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_author(check_in) -> str | None:
        return _username(check_in.author)


class Input(Schema):
    """A request body. Text holding the NUL character is refused: the database cannot store
    it, and no person types it."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character")
        return value


class CheckInIn(Input):
    value: Decimal = Field(max_digits=18, decimal_places=4)
    confidence: int = Field(ge=1, le=10)
    note: str = Field("", max_length=5_000)


class Impact(Schema):
    team: int = Field(ge=-2, le=2)
    business: int = Field(ge=-2, le=2)
    customer: int = Field(ge=-2, le=2)


class InitiativeOut(Schema):
    ref: str
    squad: str
    key: str
    title: str
    description: str
    function: str
    stage: str | None
    segment: str | None
    starts: dt.date
    ends: dt.date
    headcount: Decimal
    status: str
    impact: Impact | None
    counter_measure: str
    updated_at: dt.datetime

    @staticmethod
    def resolve_ref(initiative) -> str:
        return _initiative_ref(initiative)

    @staticmethod
    def resolve_squad(initiative) -> str:
        return initiative.squad.key

    @staticmethod
    def resolve_stage(initiative) -> str | None:
        return _stage_ref(initiative.stage)

    @staticmethod
    def resolve_segment(initiative) -> str | None:
        return initiative.segment.key if initiative.segment else None

    @staticmethod
    def resolve_impact(initiative) -> dict | None:
        if initiative.impact_team is None:
            return None
        return {
            "team": initiative.impact_team,
            "business": initiative.impact_business,
            "customer": initiative.impact_customer,
        }


Status = Literal["proposed", "planned", "in_progress", "done", "dropped"]


class InitiativeIn(Input):
    title: Visible = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    function: Visible = Field(min_length=1, max_length=100)
    stage: str | None = Field(None, description='"JOURNEY/STAGE"', max_length=200)
    segment: str | None = Field(None, max_length=KEY_MAX_LENGTH)
    starts: PlanDate
    ends: PlanDate
    headcount: Decimal = Field(Decimal(0), ge=0, max_digits=6, decimal_places=2)
    status: Status = "proposed"
    impact: Impact | None = None
    counter_measure: str = Field("", max_length=20_000)


class InitiativeCreate(InitiativeIn):
    key: str = Field(min_length=1, max_length=KEY_MAX_LENGTH)


class DependencyOut(Schema):
    key: str
    needed_by: str
    provided_by: str | None
    to_function: str
    what: str
    due: dt.date
    blocking: bool
    status: str
    status_reason: str = Field(
        description="Why it is at risk or declined, as the provider side said; empty otherwise."
    )
    owner: str | None
    note: str
    updated_at: dt.datetime

    @staticmethod
    def resolve_needed_by(dep) -> str:
        return dep.from_squad.key if dep.from_squad_id else _initiative_ref(dep.from_initiative)

    @staticmethod
    def resolve_provided_by(dep) -> str | None:
        if dep.to_squad_id:
            return dep.to_squad.key
        return _initiative_ref(dep.to_initiative) if dep.to_initiative_id else None

    @staticmethod
    def resolve_owner(dep) -> str | None:
        return _username(dep.owner)


class DependencyWritten(DependencyOut):
    warnings: list[str] = Field(
        default_factory=list,
        description="What the person should know about what was just saved, e.g. that its "
        "due date is already past; empty when there is nothing to say.",
    )


class DependencyIn(Input):
    needed_by: str = Field(
        min_length=1,
        max_length=200,
        description='Who needs it: a squad key or an initiative "SQUAD/KEY".',
    )
    provided_by: str | None = Field(
        None, max_length=200, description='A squad key or an initiative "SQUAD/KEY".'
    )
    to_function: str = Field(
        "", max_length=100, description="A function instead, when no squad provides it."
    )
    what: Visible = Field(min_length=1, max_length=2_000)
    due: PlanDate
    blocking: bool = False
    owner: str | None = Field(
        None,
        max_length=150,
        description="A username on the provider side: a member of the providing squad, or "
        "someone of the providing function.",
    )
    note: str = Field("", max_length=5_000)
    key: str = Field("", max_length=KEY_MAX_LENGTH)


class DependencyAnswer(Input):
    action: Literal["accept", "decline", "at_risk", "done"]
    reason: str = Field(
        "",
        max_length=2_000,
        description="Why: required to decline and to mark at risk; shown with the status.",
    )
    owner: str = Field(
        "",
        max_length=150,
        description="Accepting one nobody owns: the username of who owns it from now on, on "
        "the provider side. Left empty, whoever accepts owns it when they are on the provider "
        "side (else nobody does yet). Ignored when it has an owner.",
    )


class FindingOut(Schema):
    id: int
    cycle: str
    kind: str
    rule: str
    severity: str
    subjects: list[str]
    message: str
    score: float | None
    state: str
    dismissed_reason: str
    reopened_note: str = Field(
        description="Why the review opened it again after it was acknowledged: what got "
        "worse. Empty otherwise."
    )
    first_seen: dt.datetime
    last_seen: dt.datetime

    @staticmethod
    def resolve_cycle(finding) -> str:
        return finding.cycle.key


class FindingAction(Input):
    action: Literal["acknowledge", "resolve", "dismiss", "reopen"]
    reason: str = Field("", max_length=2_000)


# ---------------------------------------------------------------------------------------
# The customer's outcomes: goals, segments' success and milestones, value states,
# touchpoints (docs/outcomes.md). Value states are words, as in the planning file:
# none, promised, first_value, repeat_value, expanding.
# ---------------------------------------------------------------------------------------

ValueState = Literal["none", "promised", "first_value", "repeat_value", "expanding"]
_VALUE_WORDS = ("none", "promised", "first_value", "repeat_value", "expanding")


def _value_word(number: int | None) -> str | None:
    return None if number is None else _VALUE_WORDS[number]


class ObjectiveOut(Schema):
    squad: str
    cycle: str
    objective: str


class GoalOut(Schema):
    key: str
    name: str
    description: str
    customer_success: str
    starts_year: int
    ends_year: int
    owner: str | None
    position: int
    segments: list[str]
    objectives: list[ObjectiveOut] = Field(
        description="The squads' objectives serving the goal, in every cycle."
    )
    version: int = Field(description="Send it back with a change to be told of a newer save.")

    @staticmethod
    def resolve_owner(goal) -> str | None:
        return _username(goal.owner)

    @staticmethod
    def resolve_segments(goal) -> list[str]:
        return [segment.key for segment in goal.segments.all()]

    @staticmethod
    def resolve_objectives(goal) -> list[dict]:
        return [
            {
                "squad": link.okr.squad.key,
                "cycle": link.okr.cycle.key,
                "objective": link.okr.objective,
            }
            for link in goal.objective_links.all()
        ]


class GoalIn(Input):
    name: Visible = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20_000)
    customer_success: str = Field(
        max_length=20_000, description="What customers succeed at when the goal is met."
    )
    starts_year: int = Field(ge=0, le=32767)
    ends_year: int = Field(ge=0, le=32767)
    owner: str | None = Field(None, max_length=150, description="A username.")
    segments: list[str] = Field(
        default_factory=list, max_length=100, description="Segment keys the goal is about."
    )


class GoalCreate(GoalIn):
    key: str = Field("", max_length=KEY_MAX_LENGTH, description="Made from the name if blank.")


class GoalUpdate(GoalIn):
    version: int | None = Field(
        None,
        ge=0,
        le=2**31 - 1,
        description="The version the change was made to (from GoalOut); if someone saved the "
        "goal since, nothing is written and the answer is 409. Leave it out to replace the "
        "goal whatever its version.",
    )


class GoalRemoved(Schema):
    key: str
    took: list[str] = Field(description="What the removal took with it, in words.")


class ObjectiveGoalsIn(Input):
    goals: list[str] = Field(max_length=100, description="The keys of the goals it serves.")


class ObjectiveGoalsOut(Schema):
    squad: str
    cycle: str
    objective: str
    goals: list[str]


class SuccessOut(Schema):
    metric: str
    threshold: Decimal | None
    unit: str
    within_days: int | None
    owner: str | None
    sentence: str = Field(description='As people read it: "80% of seats active within 60 days".')


# Segments' milestone maps (docs/outcomes.md)


class MilestoneReadingOut(Schema):
    measured_on: dt.date
    actual_days: Decimal | None
    completion_rate: Decimal | None
    customers: int | None
    note: str
    source: str


class MilestoneOut(Schema):
    key: str
    name: str
    description: str
    position: int
    expected_day: int
    success: bool
    moment: str | None = Field(None, description='Its journey moment, "JOURNEY/STAGE/MOMENT".')
    latest_reading: MilestoneReadingOut | None = None


class SegmentMilestonesOut(Schema):
    segment: str
    name: str
    outcome: str = Field(description='The success outcome in one sentence; "" when none.')
    milestones: list[MilestoneOut]


class MilestoneReadingIn(Schema):
    """One reading; the values are checked as the check-in form checks them, and every
    problem is answered with 400 naming the item ("Item 2: ...")."""

    milestone: str = Field(description="The key of one of the segment's milestones.")
    measured_on: str | None = Field(None, description="YYYY-MM-DD; default today.")
    actual_days: Decimal | str | None = None
    completion_rate: Decimal | str | None = Field(None, description="Percent, 0 to 100.")
    customers: int | str | None = None
    note: str = ""


class ReadingsImported(Schema):
    created: int
    replaced: int


class TimeToValueMilestoneOut(Schema):
    key: str
    ref: str
    name: str
    description: str
    expected_day: int
    moment: str | None = Field(description='"journey/stage/moment", or null.')
    success: bool
    latest_reading: MilestoneReadingOut | None

    @staticmethod
    def resolve_moment(milestone) -> str | None:
        moment = milestone.moment
        if moment is None or moment.stage.removal_id or moment.stage.journey.removal_id:
            return None
        return moment.ref

    @staticmethod
    def resolve_latest_reading(milestone):
        readings = list(milestone.readings.all())
        return readings[0] if readings else None


class SegmentOut(Schema):
    key: str
    name: str
    description: str
    priority: int | None
    success: SuccessOut | None
    milestones: list[TimeToValueMilestoneOut]

    @staticmethod
    def resolve_success(segment) -> dict | None:
        if not (segment.success_metric or segment.success_threshold is not None):
            return None
        return {
            "metric": segment.success_metric,
            "threshold": segment.success_threshold,
            "unit": segment.success_unit,
            "within_days": segment.success_within_days,
            "owner": _username(segment.success_owner),
            "sentence": outcome_sentence(segment, owner=False),
        }

    @staticmethod
    def resolve_milestones(segment) -> list:
        return list(segment.milestones.all())


class TouchpointOut(Schema):
    channel: str
    function: str
    squad: str | None
    segment: str | None = Field(description="null: all the journey's segments.")
    message: str

    @staticmethod
    def resolve_squad(point) -> str | None:
        squad = point.squad
        return squad.key if squad is not None and squad.removal_id is None else None

    @staticmethod
    def resolve_segment(point) -> str | None:
        return point.segment.key if point.segment else None


class MomentDetailOut(Schema):
    key: str
    ref: str
    when: str
    today: str
    tomorrow: str
    value_today: ValueState | None
    value_target: ValueState | None
    touchpoints: list[TouchpointOut]

    @staticmethod
    def resolve_ref(moment) -> str:
        return f"{moment.stage.journey.key}/{moment.stage.key}/{moment.key}"

    @staticmethod
    def resolve_value_today(moment) -> str | None:
        return _value_word(moment.value_today)

    @staticmethod
    def resolve_value_target(moment) -> str | None:
        return _value_word(moment.value_target)

    @staticmethod
    def resolve_touchpoints(moment) -> list:
        return list(moment.touchpoints.all())


class StageDetailOut(Schema):
    key: str
    ref: str
    name: str
    position: int
    customer_goal: str
    today: str
    tomorrow: str
    emotion_today: int
    emotion_target: int
    value_today: ValueState | None
    value_target: ValueState | None
    expansion: bool = Field(description="Expansion conversations belong to this stage.")
    moments: list[MomentDetailOut]
    version: int

    @staticmethod
    def resolve_ref(stage) -> str:
        return _stage_ref(stage)

    @staticmethod
    def resolve_value_today(stage) -> str | None:
        return _value_word(stage.value_today)

    @staticmethod
    def resolve_value_target(stage) -> str | None:
        return _value_word(stage.value_target)

    @staticmethod
    def resolve_moments(stage) -> list:
        return list(stage.moments.all())
