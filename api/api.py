"""The REST API: /api/v1/, described by the OpenAPI document at /api/v1/openapi.json.

The customer's outcomes (goals, segments' success and milestones, value states, touchpoints)
are in api/customer_outcomes.py, mounted at the end of this module.

A person calls it with a personal token (`Authorization: Bearer tl_...`, made on the
"API tokens" page) or, from a signed-in browser, with the session and its CSRF token. It
reads and writes through the same services as the web pages and asks the same access
layer (core.access), so it can never do more than that person can in the browser.
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404, HttpRequest, RawPostDataException
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import NinjaAPI, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBearer, SessionAuth

from api import schemas
from api.models import ApiToken, token_digest
from core import access
from core.limits import WRITE_METHODS, over_write_limit
from core.models import Cycle
from core.versioning import Conflict
from dependencies import services as dependency_services
from dependencies.models import Dependency
from journeys import outcomes, readings
from journeys.models import Journey, Milestone, MilestoneReading, Segment, Stage
from planning import services as review_services
from planning.findings_services import finding_resolve
from planning.models import Finding
from squads import services as squad_services
from squads.models import OKR, CheckIn, Initiative, KeyResult, Membership, Squad

User = get_user_model()

# How often a token's "last used" time is written: not on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


class TokenAuth(HttpBearer):
    """A personal token. A request that sends an Authorization header is judged by it alone:
    a made-up, revoked or malformed one is 401, never passed on to the session (whose CSRF
    check would answer 403 for what is a token problem)."""

    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest):
        # Not HttpBearer's: that one logs the header it does not understand (a password, for
        # Basic) when DEBUG is on.
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if not scheme:
            return None
        if scheme.lower() != self.openapi_scheme:
            raise TokenRefused(
                "The Authorization header is not a bearer token: send "
                "Authorization: Bearer <token>."
            )
        if not token.strip():
            raise TokenRefused(
                "The Authorization header names no token: send Authorization: Bearer <token>."
            )
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str):
        # Whoever sends a token holds it, so saying why it no longer works tells them nothing
        # they could not see on their own tokens page.
        row = ApiToken.objects.select_related("user").filter(digest=token_digest(token)).first()
        if row is None:
            raise TokenRefused(
                "This API token is not one Throughline issued; copy it again from your "
                "API tokens page, or make a new one there."
            )
        if row.revoked_at is not None:
            raise TokenRefused(
                "This API token was revoked; make a new one on your API tokens page."
            )
        if not row.user.is_active:
            raise TokenRefused(
                "The account this API token belongs to is deactivated; ask an administrator."
            )
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        if request.method in WRITE_METHODS:
            # Token writes count against the same per-person limit as the pages' writes.
            over = over_write_limit(row.user)
            if over is not None:
                raise TooManyWrites(*over)
        return row.user


class TokenRefused(AuthenticationError):
    """A token was sent and is not good: the answer says why, never 'send a token'."""

    def __init__(self, detail: str) -> None:
        super().__init__(message=detail)
        self.detail = detail


class BrowserSession(SessionAuth):
    """A signed-in browser: its session, and for a write its CSRF token. Only a signed-in
    session gets as far as the CSRF check, so a request with neither token nor session is
    401 whatever its method."""

    def __call__(self, request: HttpRequest):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


class TooManyWrites(Exception):
    def __init__(self, wait: int, message: str) -> None:
        super().__init__(message)
        self.wait = wait


# Far past any list a company has; the database could not count past a much larger one.
MAX_OFFSET = 1_000_000_000


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = 50
        offset: int = 0

    def paginate_queryset(self, queryset, pagination: Input, **params):
        if not 1 <= pagination.limit <= 200:
            raise HttpError(400, "limit runs from 1 to 200.")
        if not 0 <= pagination.offset <= MAX_OFFSET:
            raise HttpError(400, f"offset runs from 0 to {MAX_OFFSET:,}.")
        return super().paginate_queryset(queryset, pagination, **params)


api = NinjaAPI(
    title="Throughline API",
    version="1",
    description=__doc__,
    urls_namespace="api",
    auth=[TokenAuth(), BrowserSession(csrf=True)],
    docs_url=None,
)


def _error(request, status: int, detail: str, errors: dict | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or {}}, status=status)


@api.exception_handler(DjangoValidationError)
def _invalid(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        first = next(iter(errors.values()))[0]
        return _error(request, 400, first, errors)
    return _error(request, 400, " ".join(exc.messages))


@api.exception_handler(NinjaValidationError)
def _malformed(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        # ("body", "payload", "confidence") -> "confidence": the field as the caller wrote it.
        loc = [str(p) for p in item.get("loc", ())]
        where = ".".join(loc[2:] if loc[:1] in (["body"], ["query"]) else loc[1:])
        errors.setdefault(where or "request", []).append(item.get("msg", "is not valid"))
    return _error(request, 422, "The request does not have the expected shape.", errors)


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc: PermissionDenied):
    return _error(request, 403, str(exc) or "You may not do this.")


@api.exception_handler(Http404)
def _not_found(request, exc: Http404):
    return _error(request, 404, str(exc) or "Not found.")


@api.exception_handler(AuthenticationError)
def _unauthorized(request, exc):
    if isinstance(exc, TokenRefused):
        return _error(request, 401, exc.detail)
    return _error(request, 401, "Send a personal API token: Authorization: Bearer <token>.")


@api.exception_handler(TooManyWrites)
def _too_many_writes(request, exc: TooManyWrites):
    response = _error(request, 429, str(exc))
    response["Retry-After"] = str(exc.wait)
    return response


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(Conflict)
def _conflict(request, exc: Conflict):
    by = f" ({exc.saved_by.get_username()})" if exc.saved_by is not None else ""
    message = (
        f"Someone{by} saved this after the version you sent; nothing was written. It is at "
        f"version {exc.version} now: read it again and send your change against that."
    )
    return _error(request, 409, message, {"version": [message]})


def _actor(request) -> access.Actor:
    return access.actor_for(request)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _squad(key: str) -> Squad:
    squad = Squad.objects.select_related("cycle").filter(key=key).first()
    if squad is None:
        raise Http404(f"No squad has the key {key!r}.")
    return squad


def _initiative(ref: str) -> Initiative:
    squad_key, _, key = ref.partition("/")
    initiative = (
        Initiative.objects.select_related("squad__cycle", "stage__journey", "segment")
        .filter(squad__key=squad_key, key=key)
        .first()
    )
    if initiative is None:
        raise Http404(f'No initiative is "{ref}" (written SQUAD/KEY).')
    return initiative


def _squad_or_initiative(ref: str, field: str) -> tuple[Squad | None, Initiative | None]:
    try:
        if "/" in ref:
            return None, _initiative(ref)
        return _squad(ref), None
    except Http404 as exc:
        raise DjangoValidationError({field: str(exc)}) from None


def _stage(ref: str | None) -> Stage | None:
    if not ref:
        return None
    journey, _, key = ref.partition("/")
    stage = Stage.objects.filter(journey__key=journey, key=key).first()
    if stage is None:
        raise DjangoValidationError({"stage": f'No stage is "{ref}" (written JOURNEY/STAGE).'})
    return stage


def _segment(key: str | None) -> Segment | None:
    if not key:
        return None
    segment = Segment.objects.filter(key=key).first()
    if segment is None:
        raise DjangoValidationError({"segment": f"No segment has the key {key!r}."})
    return segment


# ---------------------------------------------------------------------------------------
# Cycles and journeys
# ---------------------------------------------------------------------------------------

cycles = Router(tags=["cycles"])
journeys = Router(tags=["journeys"])


@cycles.get("", response=list[schemas.CycleOut], summary="Planning cycles, latest first")
@paginate(Pagination)
def cycle_list(request):
    return Cycle.objects.order_by("-starts", "key")


@cycles.get("/{key}", response=schemas.CycleOut, summary="One cycle")
def cycle_detail(request, key: str):
    return get_object_or_404(Cycle, key=key)


def _journeys() -> QuerySet[Journey]:
    stages = Stage.objects.order_by("position", "id").prefetch_related("moments")
    return Journey.objects.order_by("name", "id").prefetch_related(
        "segments", Prefetch("stages", queryset=stages)
    )


@journeys.get("", response=list[schemas.JourneyOut], summary="Journeys with their stages")
@paginate(Pagination)
def journey_list(request):
    return _journeys()


@journeys.get("/{key}", response=schemas.JourneyOut, summary="One journey")
def journey_detail(request, key: str):
    return get_object_or_404(_journeys(), key=key)


# ---------------------------------------------------------------------------------------
# Squads, OKRs and check-ins
# ---------------------------------------------------------------------------------------

squads = Router(tags=["squads"])


def _squads() -> QuerySet[Squad]:
    return Squad.objects.select_related("cycle", "dri").prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("person__profile").order_by("id"),
        ),
        Prefetch("stages", queryset=Stage.objects.select_related("journey").order_by("id")),
        Prefetch(
            "okrs",
            queryset=OKR.objects.prefetch_related(
                Prefetch("key_results", queryset=KeyResult.objects.order_by("id"))
            ),
        ),
    )


class SquadFilters(Schema):
    cycle: str | None = None
    member: str | None = None


@squads.get("", response=list[schemas.SquadOut], summary="Squads with DRI, members and OKR")
@paginate(Pagination)
def squad_list(request, filters: Query[SquadFilters]):
    queryset = _squads().order_by("name", "id")
    if filters.cycle:
        queryset = queryset.filter(cycle__key=filters.cycle)
    if filters.member:
        queryset = queryset.filter(memberships__person__username=filters.member)
    return queryset


@squads.get("/{key}", response=schemas.SquadOut, summary="One squad")
def squad_detail(request, key: str):
    return get_object_or_404(_squads(), key=key)


def _key_result(squad_key: str, kr_key: str) -> KeyResult:
    squad = _squad(squad_key)
    key_result = (
        KeyResult.objects.select_related("okr__squad")
        .filter(okr__squad=squad, okr__cycle_id=squad.cycle_id, key=kr_key)
        .first()
    )
    if key_result is None:
        raise Http404(f"Squad {squad_key!r} has no key result {kr_key!r} this cycle.")
    return key_result


@squads.get(
    "/{key}/key-results/{kr_key}/check-ins",
    response=list[schemas.CheckInOut],
    summary="A key result's check-ins, latest first",
)
@paginate(Pagination)
def check_in_list(request, key: str, kr_key: str):
    key_result = _key_result(key, kr_key)
    return CheckIn.objects.filter(key_result=key_result).select_related("author")


@squads.post(
    "/{key}/key-results/{kr_key}/check-ins",
    response={201: schemas.CheckInOut, 400: schemas.Error, 403: schemas.Error},
    summary="Record a check-in (the squad's members)",
)
def check_in_create(request, key: str, kr_key: str, payload: schemas.CheckInIn):
    key_result = _key_result(key, kr_key)
    _require(
        access.can_check_in(_actor(request), key_result.okr.squad),
        "Only the squad's members record its check-ins.",
    )
    check_in = squad_services.check_in_record(
        key_result=key_result,
        value=payload.value,
        confidence=payload.confidence,
        note=payload.note,
        by=request.user,
    )
    return Status(201, check_in)


# ---------------------------------------------------------------------------------------
# Initiatives
# ---------------------------------------------------------------------------------------

initiatives = Router(tags=["initiatives"])


class InitiativeFilters(Schema):
    cycle: str | None = None
    squad: str | None = None
    status: schemas.Status | None = None
    function: str | None = None
    stage: str | None = None


def _initiatives() -> QuerySet[Initiative]:
    return Initiative.objects.select_related("squad", "stage__journey", "segment")


@initiatives.get("", response=list[schemas.InitiativeOut], summary="Initiatives")
@paginate(Pagination)
def initiative_list(request, filters: Query[InitiativeFilters]):
    queryset = access.readable_initiatives(_actor(request), _initiatives()).order_by(
        "squad__key", "key"
    )
    if filters.cycle:
        queryset = queryset.filter(squad__cycle__key=filters.cycle)
    if filters.squad:
        queryset = queryset.filter(squad__key=filters.squad)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.function:
        queryset = queryset.filter(function__iexact=filters.function)
    if filters.stage:
        journey, _, stage = filters.stage.partition("/")
        queryset = queryset.filter(stage__journey__key=journey, stage__key=stage)
    return queryset


@initiatives.get("/{squad}/{key}", response=schemas.InitiativeOut, summary="One initiative")
def initiative_detail(request, squad: str, key: str):
    initiative = _initiative(f"{squad}/{key}")
    if not access.can_read_plan(_actor(request), initiative.squad):
        raise PermissionDenied(access.DRAFT_RESTRICTED)
    return initiative


def _initiative_fields(payload: schemas.InitiativeIn) -> squad_services.InitiativeFields:
    impact = payload.impact
    return {
        "title": payload.title,
        "description": payload.description,
        "function": payload.function,
        "stage": _stage(payload.stage),
        "segment": _segment(payload.segment),
        "starts": payload.starts,
        "ends": payload.ends,
        "headcount": payload.headcount,
        "status": payload.status,
        "impact_team": impact.team if impact else None,
        "impact_business": impact.business if impact else None,
        "impact_customer": impact.customer if impact else None,
        "counter_measure": payload.counter_measure,
    }


@initiatives.post(
    "/{squad}",
    response={201: schemas.InitiativeOut, 400: schemas.Error, 403: schemas.Error},
    summary="Add an initiative to a squad's plan (the squad's members)",
)
def initiative_create(request, squad: str, payload: schemas.InitiativeCreate):
    owner = _squad(squad)
    _require(
        access.can_edit_plan(_actor(request), owner), "Only the squad's members change its plan."
    )
    initiative = squad_services.initiative_create(
        squad=owner, key=payload.key, values=_initiative_fields(payload), by=request.user
    )
    return Status(201, _initiative(f"{owner.key}/{initiative.key}"))


@initiatives.put(
    "/{squad}/{key}",
    response={200: schemas.InitiativeOut, 400: schemas.Error, 403: schemas.Error},
    summary="Replace an initiative's fields (the squad's members)",
)
def initiative_update(request, squad: str, key: str, payload: schemas.InitiativeIn):
    initiative = _initiative(f"{squad}/{key}")
    _require(
        access.can_edit_plan(_actor(request), initiative.squad),
        "Only the squad's members change its plan.",
    )
    squad_services.initiative_update(
        initiative=initiative, values=_initiative_fields(payload), by=request.user
    )
    return Status(200, _initiative(f"{squad}/{key}"))


# ---------------------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------------------

dependencies = Router(tags=["dependencies"])


class DependencyFilters(Schema):
    cycle: str | None = None
    needed_by: str | None = None
    provided_by: str | None = None
    to_function: str | None = None
    status: str | None = None
    blocking: bool | None = None
    overdue: bool | None = None
    due_before: dt.date | None = None


def _dependencies() -> QuerySet[Dependency]:
    return Dependency.objects.select_related(
        "from_squad",
        "from_initiative__squad",
        "to_squad",
        "to_initiative__squad",
        "owner",
    )


@dependencies.get("", response=list[schemas.DependencyOut], summary="Dependencies, by due date")
@paginate(Pagination)
def dependency_list(request, filters: Query[DependencyFilters]):
    queryset = _dependencies().order_by("due", "key")
    if filters.cycle:
        queryset = queryset.filter(needer__cycle__key=filters.cycle)
    if filters.needed_by:
        queryset = queryset.filter(needer__key=filters.needed_by)
    if filters.provided_by:
        queryset = queryset.filter(provider__key=filters.provided_by)
    if filters.to_function:
        queryset = queryset.filter(to_function__iexact=filters.to_function)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.blocking is not None:
        queryset = queryset.filter(blocking=filters.blocking)
    if filters.overdue is not None:
        overdue = Dependency.objects.overdue(timezone.localdate()).values("pk")
        queryset = (
            queryset.filter(pk__in=overdue) if filters.overdue else queryset.exclude(pk__in=overdue)
        )
    if filters.due_before:
        queryset = queryset.filter(due__lt=filters.due_before)
    return queryset


def _dependency(key: str) -> Dependency:
    dep = _dependencies().filter(key=key).first()
    if dep is None:
        raise Http404(f"No dependency has the key {key!r}.")
    return dep


@dependencies.get("/{key}", response=schemas.DependencyOut, summary="One dependency")
def dependency_detail(request, key: str):
    return _dependency(key)


@dependencies.post(
    "",
    response={201: schemas.DependencyWritten, 400: schemas.Error, 403: schemas.Error},
    summary="Record what a squad or initiative needs (its squad's members)",
    description=(
        "A due date already past is recorded as given, and the answer's `warnings` say "
        "that the dependency is late from the start."
    ),
)
def dependency_create(request, payload: schemas.DependencyIn):
    from_squad, from_initiative = _squad_or_initiative(payload.needed_by, "needed_by")
    needer = from_squad or from_initiative.squad
    _require(
        access.can_create_dependency(_actor(request), needer),
        "Only the needing squad's members record what it needs.",
    )
    to_squad = to_initiative = None
    if payload.provided_by:
        to_squad, to_initiative = _squad_or_initiative(payload.provided_by, "provided_by")
    owner = None
    if payload.owner:
        owner = User.objects.filter(username=payload.owner).first()
        if owner is None:
            raise DjangoValidationError({"owner": f"Nobody has the username {payload.owner!r}."})
    dep = dependency_services.dependency_create(
        by=request.user,
        from_squad=from_squad,
        from_initiative=from_initiative,
        to_squad=to_squad,
        to_initiative=to_initiative,
        to_function=payload.to_function,
        what=payload.what,
        due=payload.due,
        blocking=payload.blocking,
        owner=owner,
        note=payload.note,
        key=payload.key,
    )
    saved = _dependency(dep.key)
    warning = dependency_services.past_due_warning(saved.due, today=timezone.localdate())
    saved.warnings = [warning] if warning else []
    return Status(201, saved)


@dependencies.post(
    "/{key}/answer",
    response={200: schemas.DependencyWritten, 400: schemas.Error, 403: schemas.Error},
    summary="Accept, decline or mark at risk (each with a reason), or done (the provider side)",
    description=(
        "Only a status the lifecycle lets follow the current one (docs/dependencies.md); "
        "any other answers 400 with the reason under errors.action. Declining and marking at "
        "risk without a reason answer 400 under errors.reason. Accepting one nobody owns "
        "makes `owner`, or else whoever accepts when on the provider side, its owner. "
        "Accepting a dependency whose due date is past works, and the answer's `warnings` "
        "say it is late already."
    ),
)
def dependency_answer(request, key: str, payload: schemas.DependencyAnswer):
    dep = _dependency(key)
    _require(
        access.can_respond_dependency(_actor(request), dep),
        "Only the provider side answers this dependency.",
    )
    owner = None
    if payload.owner and payload.action == "accept" and dep.owner_id is None:
        owner = User.objects.filter(username=payload.owner).first()
        if owner is None:
            raise DjangoValidationError({"owner": f"Nobody has the username {payload.owner!r}."})
    dependency_services.dependency_respond(
        dependency=dep,
        by=request.user,
        action=payload.action,
        reason=payload.reason,
        owner=owner,
    )
    saved = _dependency(key)
    warning = dependency_services.accepted_late_warning(saved, today=timezone.localdate())
    saved.warnings = [warning] if warning else []
    return Status(200, saved)


# ---------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------

findings = Router(tags=["findings"])


class FindingFilters(Schema):
    cycle: str | None = None
    kind: str | None = None
    rule: str | None = None
    severity: str | None = None
    state: str | None = None
    squad: str | None = None


@findings.get("", response=list[schemas.FindingOut], summary="The review's findings")
@paginate(Pagination)
def finding_list(request, filters: Query[FindingFilters]):
    queryset = Finding.objects.select_related("cycle").order_by("-last_seen", "-id")
    for name in ("kind", "rule", "severity", "state"):
        if value := getattr(filters, name):
            queryset = queryset.filter(**{name: value})
    if filters.cycle:
        queryset = queryset.filter(cycle__key=filters.cycle)
    if filters.squad:
        queryset = queryset.concerning_squad(filters.squad)
    return queryset


def _finding(pk: int) -> Finding:
    finding = Finding.objects.select_related("cycle").filter(pk=pk).first()
    if finding is None:
        raise Http404(f"No finding has the id {pk}.")
    return finding


@findings.get("/{int:pk}", response=schemas.FindingOut, summary="One finding")
def finding_detail(request, pk: int):
    return _finding(pk)


@findings.post(
    "/{int:pk}/state",
    response={200: schemas.FindingOut, 400: schemas.Error, 403: schemas.Error},
    summary="Acknowledge, resolve, dismiss (with a reason) or reopen a finding",
)
def finding_state(request, pk: int, payload: schemas.FindingAction):
    finding = _finding(pk)
    _require(
        access.can_triage_finding(_actor(request), finding),
        "Operations, leadership and the DRIs of the squads concerned triage findings.",
    )
    if payload.action == "acknowledge":
        review_services.finding_acknowledge(finding=finding, by=request.user)
    elif payload.action == "resolve":
        finding_resolve(finding=finding, by=request.user)
    elif payload.action == "dismiss":
        review_services.finding_dismiss(finding=finding, by=request.user, reason=payload.reason)
    else:
        review_services.finding_reopen(finding=finding, by=request.user)
    return Status(200, _finding(pk))


# ---------------------------------------------------------------------------------------
# Segments' milestone maps and their readings
# ---------------------------------------------------------------------------------------

segments = Router(tags=["segments"])


def _segment_for_readings(request, key: str) -> Segment:
    segment = Segment.objects.filter(key=key).first()
    if segment is None:
        raise Http404(f"No segment has the key {key!r}.")
    _require(
        access.can_record_milestone_reading(_actor(request), segment),
        "Only leadership, operations and the segment's success owner record its readings.",
    )
    return segment


def _imported(result: readings.Imported):
    return Status(201, {"created": result.created, "replaced": result.replaced})


def _readings_refused(exc: DjangoValidationError) -> DjangoValidationError:
    return DjangoValidationError({"readings": exc.messages})


@segments.get(
    "/{key}/milestones",
    response=schemas.SegmentMilestonesOut,
    summary="A segment's success outcome and milestones, each with its latest reading",
)
def segment_milestones(request, key: str):
    segment = get_object_or_404(Segment.objects.select_related("success_owner__profile"), key=key)
    latest = MilestoneReading.objects.filter(milestone=OuterRef("pk")).order_by(
        "-measured_on", "-id"
    )
    milestones = (
        Milestone.objects.filter(segment=segment)
        .select_related("moment__stage__journey")
        .annotate(latest_id=Subquery(latest.values("pk")[:1]))
        .order_by("position", "expected_day", "id")
    )
    milestones = list(milestones[:500])
    readings = MilestoneReading.objects.in_bulk([m.latest_id for m in milestones if m.latest_id])
    return {
        "segment": segment.key,
        "name": segment.name,
        "outcome": outcomes.outcome_sentence(segment),
        "milestones": [
            {
                "key": m.key,
                "name": m.name,
                "description": m.description,
                "position": m.position,
                "expected_day": m.expected_day,
                "success": m.success,
                "moment": m.moment.ref if m.moment is not None else None,
                "latest_reading": readings.get(m.latest_id),
            }
            for m in milestones
        ],
    }


@segments.post(
    "/{key}/milestones/readings",
    response={201: schemas.ReadingsImported, 400: schemas.Error, 403: schemas.Error},
    summary="Record readings (leadership, operations, the segment's success owner)",
    description="A JSON list of readings, all or nothing: any problem answers 400 listing "
    'each one ("Item 2: ...") under `errors.readings`, and nothing is written. A reading for '
    "a milestone and day already recorded replaces it. At most 5,000 readings.",
)
def milestone_readings_create(request, key: str, payload: list[schemas.MilestoneReadingIn]):
    segment = _segment_for_readings(request, key)
    records = [(f"Item {n}", item.dict()) for n, item in enumerate(payload, start=1)]
    try:
        result = readings.readings_import(
            segment=segment,
            records=records,
            source=MilestoneReading.Source.API,
            by=request.user,
        )
    except DjangoValidationError as exc:
        raise _readings_refused(exc) from None
    return _imported(result)


@segments.post(
    "/{key}/milestones/readings.csv",
    response={201: schemas.ReadingsImported, 400: schemas.Error, 403: schemas.Error},
    summary="Record readings from a CSV body (text/csv), as the upload on the page does",
    description="The body is a CSV with the header "
    "`milestone,measured_on,actual_days,completion_rate,customers,note`, at most 1 MB and "
    '5,000 rows, all or nothing: any problem answers 400 listing each one ("Row 3: ...").',
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
def milestone_readings_csv_create(request, key: str):
    segment = _segment_for_readings(request, key)
    if request.content_type not in ("text/csv", "text/plain"):
        raise DjangoValidationError(
            {"readings": ["Send the CSV itself as the body, with Content-Type: text/csv."]}
        )
    try:
        body = request.body
    except RawPostDataException:
        raise DjangoValidationError({"readings": ["The body cannot be read as CSV."]}) from None
    if len(body) > readings.IMPORT_MAX_BYTES:
        raise DjangoValidationError({"readings": ["The body is larger than 1 MB."]})
    try:
        result = readings.readings_import_csv(
            segment=segment,
            data=body,
            source=MilestoneReading.Source.API,
            by=request.user,
        )
    except DjangoValidationError as exc:
        raise _readings_refused(exc) from None
    return _imported(result)


api.add_router("/cycles", cycles)
api.add_router("/journeys", journeys)
api.add_router("/squads", squads)
api.add_router("/initiatives", initiatives)
api.add_router("/dependencies", dependencies)
api.add_router("/findings", findings)
api.add_router("/segments", segments)

# The customer's outcomes, in their own module, which uses the helpers above.
from api import customer_outcomes  # noqa: E402

api.add_router("/journeys", customer_outcomes.journeys)
api.add_router("/squads", customer_outcomes.squads)
api.add_router("/segments", customer_outcomes.segments)
api.add_router("/goals", customer_outcomes.goals)

# The webhook and chat subscriptions, in their own module too.
from api import webhooks as webhook_subscriptions  # noqa: E402

api.add_router("/webhooks", webhook_subscriptions.webhooks)
