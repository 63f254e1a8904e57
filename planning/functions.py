"""Functions (Product, Marketing, Customer Success...) and their capacity in each cycle.

A function is a name, written wherever it applies: on people's profiles, on what each
member brings to a squad, on initiatives (who builds them), on capacity (how many full-time
people a function can staff in a cycle) and on dependencies a function provides. There is
no table of functions: the functions are the names in use (`function_names`). The review
compares those names exactly (a function's capacity against the headcount planned on
initiatives of that name, planning/review.py `rule_over_capacity`); the access rules
compare them without regard to case or spacing (core.people.function_name). So here:

- adding a function gives it a capacity in a cycle, which puts its name in use;
- renaming one rewrites its name everywhere it is written, in one transaction: the rows
  that keep a history (initiatives, dependencies) get an entry saying who renamed it, an
  initiative's version moves so an editor opened before meets the conflict view instead
  of writing the old name back, and the reviews of open cycles are queued;
- a rename onto another function's name is refused, since the two could not be told apart
  again; a rename to another spelling of the same name ("customer success" to "Customer
  Success") joins the spellings, unless both have a capacity in the same cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from core import versioning
from core.models import Capacity, Cycle, Profile
from core.numbers import plain_number
from core.people import function_name
from core.services import FUNCTION_MAX_LENGTH
from core.validators import has_surrogate, is_blank
from dependencies.models import Dependency
from planning.tasks import review_enqueue_open_cycles
from squads.cowriting import plan_changed
from squads.models import Initiative, Membership

STALE = "stale"
# pg_advisory_xact_lock's first key for renames (planning/services.py uses its own).
_RENAME_LOCK = 7_304_211


def function_names() -> list[str]:
    """Every function's name as written anywhere, in alphabetical order: one query."""
    names = (
        Profile.objects.exclude(function="")
        .order_by()
        .values_list("function", flat=True)
        .union(
            Membership.objects.order_by().values_list("function", flat=True),
            Initiative.objects.order_by().values_list("function", flat=True),
            Capacity.objects.order_by().values_list("function", flat=True),
            Dependency.objects.exclude(to_function="")
            .order_by()
            .values_list("to_function", flat=True),
        )
        .order_by()
    )
    return sorted(set(names), key=lambda name: (name.casefold(), name))


plain_headcount = plain_number


@dataclass
class FunctionRow:
    """One function in a cycle: its capacity and what the cycle's plans put on it."""

    name: str
    capacity: Decimal | None
    planned: Decimal
    initiatives: int
    people: int

    @property
    def over(self) -> Decimal | None:
        """How far the plans go past the capacity, when they do."""
        if self.capacity is None or self.planned <= self.capacity:
            return None
        return self.planned - self.capacity

    @property
    def capacity_text(self) -> str:
        return plain_headcount(self.capacity)

    @property
    def planned_text(self) -> str:
        return plain_headcount(self.planned)

    @property
    def over_text(self) -> str:
        return plain_headcount(self.over)

    @property
    def percent(self) -> int | None:
        if not self.capacity:
            return None
        return round(self.planned / self.capacity * 100)


def function_rows(cycle: Cycle | None) -> list[FunctionRow]:
    """Every function with its capacity in `cycle` and the headcount the cycle's initiatives
    plan on it (those not dropped, as the review counts them): four queries."""
    capacity: dict[str, Decimal] = {}
    planned: dict[str, tuple[Decimal, int]] = {}
    if cycle is not None:
        capacity = dict(Capacity.objects.filter(cycle=cycle).values_list("function", "headcount"))
        for row in (
            Initiative.objects.filter(squad__cycle=cycle)
            .exclude(status=Initiative.Status.DROPPED)
            .order_by()
            .values("function")
            .annotate(total=Sum("headcount"), count=Count("id"))
        ):
            planned[row["function"]] = (row["total"] or Decimal(0), row["count"])
    people = dict(
        Profile.objects.filter(user__is_active=True)
        .exclude(function="")
        .order_by()
        .values("function")
        .annotate(count=Count("id"))
        .values_list("function", "count")
    )
    return [
        FunctionRow(
            name=name,
            capacity=capacity.get(name),
            planned=planned.get(name, (Decimal(0), 0))[0],
            initiatives=planned.get(name, (Decimal(0), 0))[1],
            people=people.get(name, 0),
        )
        for name in function_names()
    ]


# ---------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------


def _clean_name(name: str, field: str = "name") -> str:
    name = " ".join((name or "").split())
    if is_blank(name):
        raise ValidationError({field: ["Name the function."]})
    if len(name) > FUNCTION_MAX_LENGTH or has_surrogate(name):
        raise ValidationError({field: [f"Use at most {FUNCTION_MAX_LENGTH} characters."]})
    return name


def _check_headcount(headcount: Decimal | None, field: str = "headcount") -> None:
    if headcount is not None and (headcount < 0 or headcount >= Decimal("1000000")):
        raise ValidationError(
            {field: ["Give the full-time people as a number from 0 up, such as 4 or 2.5."]}
        )


def function_add(*, cycle: Cycle, name: str, headcount: Decimal, by: AbstractBaseUser) -> Capacity:
    """A new function, with its capacity in this cycle."""
    name = _clean_name(name)
    _check_headcount(headcount)
    same = [n for n in function_names() if function_name(n) == function_name(name)]
    if same:
        raise ValidationError(
            {
                "name": [
                    f"{same[0]} is a function already: set its capacity in {cycle.name} in "
                    "the table above."
                ]
            }
        )
    try:
        with transaction.atomic():
            return Capacity.objects.create(cycle=cycle, function=name, headcount=headcount)
    except IntegrityError as exc:
        raise ValidationError({"name": [f"{name} was added a moment ago."]}) from exc


def capacity_set(
    *,
    cycle: Cycle,
    function: str,
    headcount: Decimal | None,
    was: str,
    by: AbstractBaseUser,
) -> Capacity | None:
    """Set the function's capacity in the cycle, or with None take it away (the review then
    stops comparing the function's plans with it), if the capacity is still what the editor
    saw (`was`, as plain_headcount writes it; "" for none)."""
    _check_headcount(headcount)
    if function not in function_names():
        raise ValidationError(
            f"No function is called {function} any more: someone may have renamed it."
        )
    with transaction.atomic():
        # The cycle's row, locked: two people setting one function's capacity take turns.
        Cycle.objects.select_for_update().filter(pk=cycle.pk).first()
        current = Capacity.objects.filter(cycle=cycle, function=function).first()
        shown = plain_headcount(current.headcount if current else None)
        if shown != (was or "").strip():
            now = f"{shown} full-time people" if shown else "no capacity"
            raise ValidationError(
                f"Someone changed the capacity of {function} in {cycle.name} after you opened "
                f"this page: it is {now} now. Give yours again to replace it.",
                code=STALE,
            )
        if headcount is None:
            if current is not None:
                current.delete()
            return None
        if current is None:
            return Capacity.objects.create(cycle=cycle, function=function, headcount=headcount)
        if current.headcount != headcount:
            current.headcount = headcount
            current.save(update_fields=["headcount"])
        return current


def _lock_renames() -> None:
    """One rename at a time, so two cannot cross (A to B while B to A)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_RENAME_LOCK])


def _history_before(model, ids: list[int]) -> None:
    """As save_versioned does for one row: rows written before history was kept get an
    entry of how they were, so the rename's entry has a "before"."""
    if not ids:
        return
    with_history = set(model.history.filter(id__in=ids).values_list("id", flat=True).distinct())
    before = [row for row in model.objects.filter(pk__in=ids) if row.pk not in with_history]
    if before:
        model.history.bulk_history_create(before, default_date=timezone.now())


def function_rename(*, old: str, new: str, by: AbstractBaseUser) -> dict[str, int]:
    """Rename a function everywhere it is written; how many rows of each kind changed."""
    new = _clean_name(new)
    if new == old:
        raise ValidationError({"name": ["That is its name already."]})
    reason = versioning.change_reason(f"Function {old} renamed {new}")
    with transaction.atomic():
        _lock_renames()
        names = function_names()
        if old not in names:
            raise ValidationError(
                f"No function is called {old} any more: someone may have renamed it."
            )
        other = [
            n
            for n in names
            if function_name(n) == function_name(new) and function_name(n) != function_name(old)
        ]
        if other:
            raise ValidationError(
                {
                    "name": [
                        f"{other[0]} is another function: renaming {old} to {new} would merge "
                        "the two, and they could not be told apart again. Choose another name."
                    ]
                }
            )
        both = Cycle.objects.filter(capacities__function=old).filter(capacities__function=new)
        if clash := list(both.order_by("starts").values_list("name", flat=True)):
            raise ValidationError(
                {
                    "name": [
                        f"{old} and {new} both have a capacity in {', '.join(clash)}: take one "
                        "of them away first, so that the rename keeps the one you mean."
                    ]
                }
            )
        now = timezone.now()
        counts = {
            "people": Profile.objects.filter(function=old).update(function=new),
            "members": Membership.objects.filter(function=old).update(function=new),
            "capacities": Capacity.objects.filter(function=old).update(function=new),
        }
        initiative_ids = list(Initiative.objects.filter(function=old).values_list("pk", flat=True))
        _history_before(Initiative, initiative_ids)
        counts["initiatives"] = Initiative.objects.filter(pk__in=initiative_ids).update(
            function=new, version=F("version") + 1, updated_at=now
        )
        dependency_ids = list(
            Dependency.objects.filter(to_function=old).values_list("pk", flat=True)
        )
        _history_before(Dependency, dependency_ids)
        counts["dependencies"] = Dependency.objects.filter(pk__in=dependency_ids).update(
            to_function=new, updated_at=now
        )
        for model, ids in ((Initiative, initiative_ids), (Dependency, dependency_ids)):
            if ids:
                model.history.bulk_history_create(
                    list(model.objects.filter(pk__in=ids)),
                    update=True,
                    default_user=by,
                    default_change_reason=reason,
                )
        # Open plan pages that show these initiatives or dependencies redraw at their next
        # poll; update() sends no signal, so the reviews are queued here.
        squads: set[int] = set(
            Initiative.objects.filter(pk__in=initiative_ids).values_list("squad_id", flat=True)
        )
        for row in Dependency.objects.filter(pk__in=dependency_ids).values(
            "from_squad_id", "from_initiative__squad_id"
        ):
            squads.update(v for v in row.values() if v is not None)
        plan_changed(squads)
        review_enqueue_open_cycles()
    return counts


def rename_summary(old: str, new: str, counts: dict[str, int]) -> str:
    """What a rename changed, in a sentence."""
    words = {
        "people": ("profile", "profiles"),
        "members": ("squad membership", "squad memberships"),
        "initiatives": ("initiative", "initiatives"),
        "capacities": ("capacity", "capacities"),
        "dependencies": ("dependency", "dependencies"),
    }
    parts = [
        f"{count} {words[kind][0] if count == 1 else words[kind][1]}"
        for kind, count in counts.items()
        if count
    ]
    changed = ", ".join(parts) if parts else "nothing else"
    return f"{old} is called {new} now: {changed} changed with it."
