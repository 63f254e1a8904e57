from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from simple_history.models import HistoricalRecords

from core.keys import KEY_HELP, KEY_MAX_LENGTH, key_check, key_validator
from core.people import function_name
from core.removal import LiveManager, Removable
from core.search import SearchFields, matching
from core.versioning import Versioned

_ONE_NEEDER = Q(from_squad__isnull=False, from_initiative__isnull=True) | Q(
    from_squad__isnull=True, from_initiative__isnull=False
)
_ONE_PROVIDER = (
    Q(to_squad__isnull=False, to_initiative__isnull=True, to_function="")
    | Q(to_squad__isnull=True, to_initiative__isnull=False, to_function="")
    | (Q(to_squad__isnull=True, to_initiative__isnull=True) & ~Q(to_function=""))
)


def on_provider_side(
    *,
    provider_squad_id: int | None,
    to_function: str,
    squad_ids: Collection[int],
    functions: Collection[str],
    needer_squad_id: int | None = None,
) -> bool:
    """Whether a person belongs to the side that provides a dependency: a member of the
    providing squad (named directly or through one of its initiatives), or, when a function
    provides it, someone of that function (`functions`: as compared by function_name, from
    their profile, which the squads cannot change) who is not in the squad that needs it, so
    the needing side never answers what it asked for itself."""
    if provider_squad_id is not None:
        return provider_squad_id in squad_ids
    if needer_squad_id is not None and needer_squad_id in squad_ids:
        return False
    return bool(to_function.strip()) and function_name(to_function) in functions


DEPENDENCY_STATUSES = ["requested", "accepted", "at_risk", "done", "declined"]
OPEN_STATUSES = ("requested", "accepted", "at_risk")

# The lifecycle: which status may follow which, in the order the board offers them. Every
# way of changing an existing dependency asks it (the board, the API, the spreadsheet import
# and the planning file); docs/dependencies.md shows it and a test keeps the two equal.
# Nothing leads back to requested: a request is answered once, and changes of mind go
# through accepted.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "requested": ("accepted", "declined"),
    "accepted": ("at_risk", "done", "declined"),
    "at_risk": ("accepted", "done", "declined"),
    "done": ("accepted",),
    "declined": ("accepted",),
}


def may_follow(current: str, wanted: str) -> bool:
    """Whether a dependency that is `current` may become `wanted`."""
    return wanted in TRANSITIONS.get(current, ())


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def transition_problem(
    current: str, wanted: str, *, as_values: bool = False, subject: str = "This dependency"
) -> str:
    """Why `wanted` may not follow `current` ("" when it may): the current status and what
    may follow it. `as_values` names statuses as files write them (at_risk), else as
    people read them (at risk)."""
    if may_follow(current, wanted):
        return ""

    def name(status: str) -> str:
        return status if as_values else Dependency.Status(status).label.lower()

    if current == wanted:
        return f"{subject} is already {name(current)}."
    return (
        f"{subject} is {name(current)}: it may become "
        f"{_either([name(s) for s in TRANSITIONS[current]])}, not {name(wanted)}."
    )


@dataclass(frozen=True)
class BoardFilters:
    """What the board (and the graph) shows, already resolved to ids: see BoardFilterForm."""

    today: dt.date
    cycle_id: int | None = None
    needer_squad_id: int | None = None
    provider_squad_id: int | None = None
    provider_function: str = ""
    status: str = ""  # a status, "open" for any not done or declined, or "" for all
    stage_id: int | None = None
    overdue: bool = False
    within_days: int | None = None
    blocking: bool = False
    key: str = ""


def _squad_of(dep: Dependency, relation: str, known: int | None) -> int | None:
    """The squad of the dependency's initiative on one side when it is loaded, else
    `known` (the database sets it on save, see Dependency.needer)."""
    if getattr(dep, f"{relation}_id") is None:
        return None
    field = Dependency._meta.get_field(relation)
    if field.is_cached(dep):
        return getattr(dep, relation).squad_id
    return known


class DependencyQuerySet(models.QuerySet):
    def with_parties(self) -> DependencyQuerySet:
        """Annotate the journey stage affected: `affected_stage_id`, the needing initiative's
        stage, else the provider initiative's. The needing and providing squads are columns
        of their own (`needer_id`, `provider_id`: see Dependency.needer)."""
        return self.annotate(
            affected_stage_id=Coalesce("from_initiative__stage_id", "to_initiative__stage_id"),
        )

    def open(self) -> DependencyQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, today: dt.date) -> DependencyQuerySet:
        return self.open().filter(due__lt=today)

    def filtered(self, filters: BoardFilters) -> DependencyQuerySet:
        """The dependencies the filters select: each filter on the row's own columns (the
        stored needing and providing squads, served by their indexes), but the stage."""
        from squads.models import Squad

        qs = self
        if filters.stage_id is not None:
            qs = qs.with_parties()
        if filters.cycle_id is not None:
            # Like the review: a dependency belongs to the cycle of the squad that needs it.
            qs = qs.filter(
                needer_id__in=Subquery(Squad.objects.filter(cycle_id=filters.cycle_id).values("pk"))
            )
        if filters.key:
            qs = qs.filter(key=filters.key)
        if filters.needer_squad_id is not None:
            qs = qs.filter(needer_id=filters.needer_squad_id)
        if filters.provider_squad_id is not None:
            qs = qs.filter(provider_id=filters.provider_squad_id)
        if filters.provider_function:
            qs = qs.filter(to_function=filters.provider_function)
        if filters.status == "open":
            qs = qs.open()
        elif filters.status:
            qs = qs.filter(status=filters.status)
        if filters.stage_id is not None:
            qs = qs.filter(affected_stage_id=filters.stage_id)
        if filters.overdue:
            qs = qs.overdue(filters.today)
        if filters.within_days is not None:
            qs = qs.filter(
                due__gte=filters.today,
                due__lte=filters.today + dt.timedelta(days=filters.within_days),
            )
        if filters.blocking:
            qs = qs.filter(blocking=True)
        return qs

    def for_board(self, filters: BoardFilters) -> DependencyQuerySet:
        """The board's rows: everything a row shows, in one query."""
        return self.filtered(filters).select_related(
            "from_squad",
            "from_initiative__squad",
            "from_initiative__stage__journey",
            "to_squad",
            "to_initiative__squad",
            "to_initiative__stage__journey",
            "owner__profile",
        )

    def search(self, query) -> DependencyQuerySet:
        """The dependencies matching `query`, best first (core.search.matching), with the
        squads on both sides."""
        related = self.select_related(
            "from_squad", "from_initiative__squad", "to_squad", "to_initiative__squad"
        )
        return matching(related, Dependency.SEARCHED, query)

    def by_provider(self) -> DependencyQuerySet:
        return self.annotate(provider_name=Coalesce("provider__name", "to_function")).order_by(
            "provider_name", "provider_id", "to_function", "due", "id"
        )

    def by_month(self) -> DependencyQuerySet:
        return self.annotate(month=TruncMonth("due")).order_by("due", "id")

    def counts(self, today: dt.date, *group_by: str) -> DependencyQuerySet | dict:
        """How many, how many overdue, at risk and blocking: counted in the database.

        With `group_by` fields, one row per group (a values() queryset); without, one dict.
        """
        measures = {
            "total": Count("pk"),
            "overdue": Count("pk", filter=Q(status__in=OPEN_STATUSES, due__lt=today)),
            "at_risk": Count("pk", filter=Q(status="at_risk")),
            "blocking": Count("pk", filter=Q(blocking=True, status__in=OPEN_STATUSES)),
            "requested": Count("pk", filter=Q(status="requested")),
        }
        if group_by:
            return self.order_by().values(*group_by).annotate(**measures)
        return self.order_by().aggregate(**measures)


class Dependency(Versioned, Removable):
    """Who needs what from whom, by when.

    The side that needs it is a squad or one of its initiatives; the provider is exactly one
    of a squad, an initiative or a function (a department that is not a squad).
    """

    VERSIONED = dict.fromkeys(
        ["what", "due", "blocking", "note", "status", "status_reason", "owner_id"], "version"
    )
    # What the search page reads, by weight (core.search; indexed by dependencies/migrations/0005).
    SEARCHED = SearchFields(a=("what",), c=("note",))

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ACCEPTED = "accepted", "Accepted"
        AT_RISK = "at_risk", "At risk"
        DONE = "done", "Done"
        DECLINED = "declined", "Declined"

    key = models.CharField(
        max_length=KEY_MAX_LENGTH, validators=[key_validator], help_text=KEY_HELP
    )
    from_squad = models.ForeignKey(
        "squads.Squad", on_delete=models.CASCADE, null=True, blank=True, related_name="needs"
    )
    from_initiative = models.ForeignKey(
        "squads.Initiative",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="needs",
    )
    to_squad = models.ForeignKey(
        "squads.Squad", on_delete=models.PROTECT, null=True, blank=True, related_name="provides"
    )
    to_initiative = models.ForeignKey(
        "squads.Initiative",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="provides",
    )
    to_function = models.CharField(max_length=100, blank=True)
    what = models.TextField()
    due = models.DateField()
    blocking = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dependencies_owned",
        help_text="Who answers for it on the provider side.",
    )
    note = models.TextField(blank=True)
    status_reason = models.TextField(
        blank=True,
        db_default="",
        help_text="Why it is at risk or declined, as the provider side said when it answered; "
        "empty for the other statuses, and for a status set by a planning file.",
    )
    # The needing squad (from_squad, or from_initiative's squad) and the providing squad
    # (to_squad, or to_initiative's squad; none for a function), kept on the row so the
    # board, the graph and the plan page filter and group by an index. The database keeps
    # them right on every write, an initiative moving to another squad included (triggers:
    # dependencies/migrations/0007); save() sets them on the instance too where it knows.
    needer = models.ForeignKey(
        "squads.Squad",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="The needing squad, kept by the database.",
    )
    provider = models.ForeignKey(
        "squads.Squad",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="The providing squad (none for a function), kept by the database.",
    )
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one with each save.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LiveManager.from_queryset(DependencyQuerySet)()
    everything = models.Manager.from_queryset(DependencyQuerySet)()
    # needer and provider follow from the other columns: the history keeps those.
    history = HistoricalRecords(excluded_fields=["needer", "provider"])

    class Meta:
        verbose_name_plural = "dependencies"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=key_check(), name="dependency_key_shape"),
            models.UniqueConstraint(
                fields=["key"], condition=Q(removal__isnull=True), name="dependency_key_unique"
            ),
            models.CheckConstraint(condition=_ONE_NEEDER, name="dependency_exactly_one_needer"),
            models.CheckConstraint(condition=_ONE_PROVIDER, name="dependency_exactly_one_provider"),
            models.CheckConstraint(
                condition=Q(status__in=DEPENDENCY_STATUSES), name="dependency_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due"]),
            models.Index(fields=["due"]),
            # The board's filters by squad, and a plan page's lists, with their status and due.
            models.Index(fields=["provider", "status", "due"], name="dependency_provider_status"),
            models.Index(fields=["needer", "status", "due"], name="dependency_needer_status"),
            # The functions the board's filter offers: the few rows a function provides.
            models.Index(
                fields=["to_function", "needer"],
                condition=Q(removal__isnull=True) & ~Q(to_function=""),
                name="dependency_function",
            ),
        ]

    def save(self, *args, **kwargs) -> None:
        # The database sets both on every write; this keeps the instance saying the same
        # where it can without a query.
        self.needer_id = self.from_squad_id or _squad_of(self, "from_initiative", self.needer_id)
        self.provider_id = self.to_squad_id or _squad_of(self, "to_initiative", self.provider_id)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.what

    def is_open(self) -> bool:
        return self.status not in (self.Status.DONE, self.Status.DECLINED)

    def is_overdue(self, today: dt.date) -> bool:
        return self.is_open() and self.due < today

    def may_become(self, status: str) -> bool:
        """Whether its status may change to `status` now (see TRANSITIONS)."""
        return may_follow(self.status, status)

    def needer_squad(self):
        """The squad that needs it: named directly, or through its initiative."""
        return self.from_squad if self.from_squad_id else self.from_initiative.squad

    def needer_squad_id(self) -> int:
        return self.from_squad_id or self.from_initiative.squad_id

    def provider_squad(self):
        """The providing squad (directly or through its initiative); None for a function."""
        if self.to_squad_id:
            return self.to_squad
        return self.to_initiative.squad if self.to_initiative_id else None

    def provider_squad_id(self) -> int | None:
        """The providing squad (directly or through its initiative); None for a function."""
        if self.to_squad_id:
            return self.to_squad_id
        if self.to_initiative_id:
            return self.to_initiative.squad_id
        return None

    def provider_removed(self) -> bool:
        """Whether the squad or initiative it is asked of was removed (core/removal.py): its
        record stays, declined, with the needing squad, and nobody answers for the provider."""
        if self.to_initiative_id:
            initiative = self.to_initiative
            return initiative.removal_id is not None or initiative.squad.removal_id is not None
        return self.to_squad_id is not None and self.to_squad.removal_id is not None

    def is_provider_side(self, *, squad_ids: Collection[int], functions: Collection[str]) -> bool:
        """See on_provider_side: the person's squads and (compared) functions."""
        return on_provider_side(
            provider_squad_id=self.provider_squad_id(),
            to_function=self.to_function,
            squad_ids=squad_ids,
            functions=functions,
            needer_squad_id=self.needer_squad_id(),
        )
