"""State changes for dependencies: recording one, editing it, and the provider's answer."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.text import slugify

from core import versioning
from core.keys import key_problem
from core.people import display_name
from core.removal import rows_created
from core.validators import date_problem, is_blank
from dependencies import events
from dependencies.models import Dependency, function_name, on_provider_side, transition_problem
from dependencies.signals import dependency_answered

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from squads.models import Initiative, Squad

WHAT_MAX_LENGTH = 2000
NOTE_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 1000

# The provider's answers: action -> the status it sets.
RESPONSES = {
    "accept": Dependency.Status.ACCEPTED,
    "decline": Dependency.Status.DECLINED,
    "at_risk": Dependency.Status.AT_RISK,
    "done": Dependency.Status.DONE,
}
RESPONSE_WORDS = {
    "accept": "Accepted",
    "decline": "Declined",
    "at_risk": "Marked at risk",
    "done": "Marked done",
}


def person_sides(person: User) -> tuple[frozenset[int], frozenset[str]]:
    """The squads a person is a member of, and their function as function_name compares it:
    the one on their profile. Not the functions they bring to squads, which each squad's DRI
    sets: the needing squad's DRI could otherwise make one of its members "of" the function
    it asks."""
    from core.models import Profile
    from squads.models import Membership

    squads = frozenset(Membership.objects.filter(person=person).values_list("squad_id", flat=True))
    functions = {
        function_name(f)
        for f in Profile.objects.filter(user=person).values_list("function", flat=True)
    }
    functions.discard("")
    return squads, frozenset(functions)


def people_sides(people: list[User]) -> dict[int, tuple[frozenset[int], frozenset[str]]]:
    """person_sides() of many people, with two queries, by person id."""
    from core.models import Profile
    from squads.models import Membership

    ids = [person.pk for person in people]
    squads: dict[int, set[int]] = {pk: set() for pk in ids}
    for person_id, squad_id in Membership.objects.filter(person_id__in=ids).values_list(
        "person_id", "squad_id"
    ):
        squads[person_id].add(squad_id)
    functions: dict[int, set[str]] = {pk: set() for pk in ids}
    for user_id, function in Profile.objects.filter(user_id__in=ids).values_list(
        "user_id", "function"
    ):
        functions[user_id].add(function_name(function))
    for found in functions.values():
        found.discard("")
    return {pk: (frozenset(squads[pk]), frozenset(functions[pk])) for pk in ids}


def check_owner(
    *,
    owner: User | None,
    provider_squad: Squad | None,
    to_function: str,
    sides: tuple[frozenset[int], frozenset[str]] | None = None,
    needer_squad_id: int | None = None,
) -> None:
    """The owner answers for the provider, so they must be on the provider side: a member of
    the providing squad, or of the providing function and not in the squad that needs it.
    Nobody named is fine. `sides`: the owner's person_sides(), when the caller has them."""
    if owner is None:
        return
    squad_ids, functions = sides if sides is not None else person_sides(owner)
    if on_provider_side(
        provider_squad_id=provider_squad.pk if provider_squad is not None else None,
        to_function=to_function,
        squad_ids=squad_ids,
        functions=functions,
        needer_squad_id=needer_squad_id,
    ):
        return
    if provider_squad is not None:
        message = (
            f"{display_name(owner)} is not a member of {provider_squad.name}, which provides it: "
            "name one of its members, or nobody."
        )
    else:
        message = (
            f"{display_name(owner)} is not in {to_function.strip()}, which provides it (by their "
            "profile), or is in the squad that needs it: name someone of that function outside "
            "the needing squad, or nobody."
        )
    raise ValidationError({"owner": message})


def check_parties(
    *,
    from_squad: Squad | None,
    from_initiative: Initiative | None,
    to_squad: Squad | None,
    to_initiative: Initiative | None,
    to_function: str,
    owner: User | None = None,
    sides: tuple[frozenset[int], frozenset[str]] | None = None,
) -> None:
    """Who needs it, exactly one provider, and an owner on the provider side: the rule every
    way of recording a dependency shares (form, API, spreadsheet and planning file).
    `sides`: the owner's person_sides(), when the caller has them."""
    errors: dict[str, str] = {}
    if (from_squad is None) == (from_initiative is None):
        errors["from_ref"] = "Say who needs it: the squad or one of its initiatives."
    providers = sum((to_squad is not None, to_initiative is not None, bool(to_function)))
    if to_function and is_blank(to_function):
        errors["to_function"] = "Name the function in visible characters."
    elif providers != 1:
        errors["provider"] = "Choose exactly one provider: a squad, an initiative or a function" + (
            f" (you chose {providers})." if providers else "."
        )
    elif from_squad is not None and to_squad is not None and from_squad.pk == to_squad.pk:
        errors["to_squad"] = "A squad cannot need something from itself; name an initiative."
    elif (
        from_initiative is not None
        and to_initiative is not None
        and from_initiative.pk == to_initiative.pk
    ):
        errors["to_initiative"] = "An initiative cannot need something from itself."
    if errors:
        raise ValidationError(errors)
    provider_squad = to_squad if to_squad is not None else getattr(to_initiative, "squad", None)
    needer = from_squad if from_squad is not None else from_initiative.squad
    check_owner(
        owner=owner,
        provider_squad=provider_squad,
        to_function=to_function,
        sides=sides,
        needer_squad_id=needer.pk,
    )


def _check_content(*, what: str, due: dt.date | None, note: str) -> None:
    errors: dict[str, str] = {}
    if is_blank(what):
        errors["what"] = "Say what is needed."
    elif len(what) > WHAT_MAX_LENGTH:
        errors["what"] = f"Keep it under {WHAT_MAX_LENGTH} characters."
    if due is None:
        errors["due"] = "Say by when it is needed."
    elif problem := date_problem(due):
        errors["due"] = problem
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"Keep the note under {NOTE_MAX_LENGTH} characters."
    if errors:
        raise ValidationError(errors)


def _day(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"


def _ago(today: dt.date, date: dt.date) -> str:
    days = (today - date).days
    return "yesterday" if days == 1 else f"{days} days ago"


def past_due_warning(due: dt.date | None, *, today: dt.date) -> str:
    """What to tell someone who records a dependency, or moves its date, to a day already
    past: it is late from the moment it is saved. "" when the date is today or later."""
    if due is None or not due < today:
        return ""
    return (
        f"The due date, {_day(due)}, is already past ({_ago(today, due)}): this dependency "
        "is late from the moment it is saved."
    )


def late_promise_warning(due: dt.date, *, today: dt.date, needer: str) -> str:
    """What to tell a provider who accepts a dependency whose due date is past: the promise
    is late already. "" when the date is today or later."""
    if not due < today:
        return ""
    return (
        f"It was due on {_day(due)} ({_ago(today, due)}), so this promise is late already: "
        f"agree a new date with {needer}."
    )


def accepted_late_warning(dependency: Dependency, *, today: dt.date) -> str:
    """late_promise_warning() for a dependency just answered: "" unless it is now accepted."""
    if dependency.status != Dependency.Status.ACCEPTED:
        return ""
    return late_promise_warning(dependency.due, today=today, needer=dependency.needer_squad().name)


def dependency_key_suggest(what: str) -> str:
    """A free key made from what is needed: slugified, shortened, numbered when taken."""
    base = slugify(what)[:60].strip("-_.") or "dependency"
    if key_problem(base):
        base = "dependency"
    taken = set(Dependency.objects.filter(key__startswith=base).values_list("key", flat=True))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def dependency_create(
    *,
    by: User,
    from_squad: Squad | None = None,
    from_initiative: Initiative | None = None,
    to_squad: Squad | None = None,
    to_initiative: Initiative | None = None,
    to_function: str = "",
    what: str,
    due: dt.date | None,
    blocking: bool = False,
    owner: User | None = None,
    note: str = "",
    key: str = "",
) -> Dependency:
    """Record that a squad (or one of its initiatives) needs something from exactly one
    provider. The key is made from `what` unless given; a given key must be free."""
    what, note, key, to_function = what.strip(), note.strip(), key.strip(), to_function.strip()
    check_parties(
        from_squad=from_squad,
        from_initiative=from_initiative,
        to_squad=to_squad,
        to_initiative=to_initiative,
        to_function=to_function,
        owner=owner,
    )
    _check_content(what=what, due=due, note=note)
    if key and (problem := key_problem(key)):
        raise ValidationError({"key": problem})
    if len(to_function) > 100:
        raise ValidationError({"to_function": "Keep the function's name under 100 characters."})

    fields = {
        "from_squad": from_squad,
        "from_initiative": from_initiative,
        "to_squad": to_squad,
        "to_initiative": to_initiative,
        "to_function": to_function,
        "what": what,
        "due": due,
        "blocking": blocking,
        "owner": owner,
        "note": note,
    }
    # A generated key can be taken by someone saving at the same moment: try the next one.
    for _attempt in range(5):
        chosen = key or dependency_key_suggest(what)
        try:
            with transaction.atomic():
                if key and Dependency.objects.filter(key=key).exists():
                    raise ValidationError({"key": "Another dependency already has this key."})
                made = Dependency.objects.create(key=chosen, **fields)
                events.publish_dependency("dependency.requested", made, by=by)
                return made
        except IntegrityError:
            if key:
                raise ValidationError({"key": "Another dependency already has this key."}) from None
    raise ValidationError({"key": "Could not find a free key; give one yourself."})


def dependencies_create(*, by: User, rows: list[dict]) -> list[Dependency]:
    """Many new dependencies at once (an import), each given its key: each checked as
    dependency_create checks it (the owner's side read once per owner), all written with
    one statement per 2,000 rows and a history entry each, or none. Each row holds
    dependency_create's arguments. Raises ValidationError for the first row with a problem."""
    keys = [row["key"].strip() for row in rows]
    taken = set()
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        taken |= set(Dependency.objects.filter(key__in=chunk).values_list("key", flat=True))
    owners = {row["owner"].pk: row["owner"] for row in rows if row.get("owner") is not None}
    sides = people_sides(list(owners.values()))
    made = []
    for key, row in zip(keys, rows, strict=True):
        what, note = row["what"].strip(), row.get("note", "").strip()
        to_function = row.get("to_function", "").strip()
        owner = row.get("owner")
        check_parties(
            from_squad=row.get("from_squad"),
            from_initiative=row.get("from_initiative"),
            to_squad=row.get("to_squad"),
            to_initiative=row.get("to_initiative"),
            to_function=to_function,
            owner=owner,
            sides=sides.get(owner.pk) if owner is not None else None,
        )
        _check_content(what=what, due=row["due"], note=note)
        if problem := key_problem(key):
            raise ValidationError({"key": problem})
        if len(to_function) > 100:
            raise ValidationError({"to_function": "Keep the function's name under 100 characters."})
        if key in taken:
            raise ValidationError({"key": "Another dependency already has this key."})
        taken.add(key)
        made.append(
            Dependency(
                key=key,
                from_squad=row.get("from_squad"),
                from_initiative=row.get("from_initiative"),
                to_squad=row.get("to_squad"),
                to_initiative=row.get("to_initiative"),
                to_function=to_function,
                what=what,
                due=row["due"],
                blocking=row.get("blocking", False),
                owner=owner,
                note=note,
            )
        )
    try:
        with transaction.atomic():
            rows_created(Dependency, made, by=by)
            events.publish_requested(made, by=by)
    except IntegrityError as exc:
        raise ValidationError({"key": "Another dependency already has this key."}) from exc
    return made


def dependency_update(
    *,
    dependency: Dependency,
    by: User,
    what: str,
    due: dt.date | None,
    blocking: bool,
    note: str,
    version: int | None = None,
    reason: str = "",
) -> Dependency:
    """The needing side changes what it needs, by when, whether it blocks, and its note.

    With `version`, only if nobody saved it since that version (else versioning.Conflict).
    """
    what, note = what.strip(), note.strip()
    _check_content(what=what, due=due, note=note)
    versioning.save_versioned(
        dependency,
        values={"what": what, "due": due, "blocking": blocking, "note": note},
        expected=version,
        by=by,
        squad_ids=squads_of(dependency),
        reason=reason,
    )
    return dependency


def squads_of(dependency: Dependency) -> list[int]:
    """The squads whose plans show this dependency: who needs it and who provides it."""
    ids = [dependency.from_squad_id, dependency.to_squad_id]
    for initiative in (dependency.from_initiative, dependency.to_initiative):
        if initiative is not None:
            ids.append(initiative.squad_id)
    return [pk for pk in ids if pk is not None]


def _answered_meanwhile(dependency: Dependency) -> str:
    return (
        "Someone answered this dependency meanwhile; it is now "
        f"{dependency.get_status_display().lower()}."
    )


AT_RISK_REASON = "Say why it is at risk, so the squad that needs it can plan around it."
DECLINE_REASON = "Say why you decline, so the squad can re-plan."


def reason_problem(action: str, reason: str) -> str:
    """What is wrong with the reason given for an answer ("" when nothing): a decline and an
    at risk each need one, in visible characters and not too long."""
    if action in ("decline", "at_risk") and is_blank(reason):
        return DECLINE_REASON if action == "decline" else AT_RISK_REASON
    if len(reason.strip()) > REASON_MAX_LENGTH:
        return f"Keep it under {REASON_MAX_LENGTH} characters."
    return ""


def provider_people(dependency: Dependency, people) -> list:
    """Those of `people` (a queryset of users) on the dependency's provider side, who may
    own it: the members of the providing squad; for a function, the people of that function
    outside the squad that needs it."""
    provider_id = dependency.provider_squad_id()
    if provider_id is not None:
        return list(people.filter(memberships__squad_id=provider_id).distinct())
    candidates = list(people)
    sides = people_sides(candidates)
    return [
        person
        for person in candidates
        if dependency.is_provider_side(squad_ids=sides[person.pk][0], functions=sides[person.pk][1])
    ]


def _owner_on_accept(dependency: Dependency, by: User, owner: User | None) -> User | None:
    """Who owns a dependency accepted without an owner: the one chosen (who must be on the
    provider side), else whoever accepted when they are on it; None when neither."""
    if owner is not None:
        check_owner(
            owner=owner,
            provider_squad=dependency.provider_squad(),
            to_function=dependency.to_function,
            needer_squad_id=dependency.needer_squad_id(),
        )
        return owner
    squad_ids, functions = person_sides(by)
    if dependency.is_provider_side(squad_ids=squad_ids, functions=functions):
        return by
    return None


def dependency_respond(
    *,
    dependency: Dependency,
    by: User,
    action: str,
    reason: str = "",
    seen_status: str | None = None,
    now: dt.datetime | None = None,
    owner: User | None = None,
    reason_optional: bool = False,
) -> Dependency:
    """The provider's answer: accept, decline or mark at risk (each of those two with a
    reason), or done, when the lifecycle lets that status follow the current one
    (models.TRANSITIONS).

    A decline appends "Declined by <who> on <date>: <reason>" to the note, so the needing
    side reads why; marking it at risk appends "At risk, said <who> on <date>: <reason>".
    The reason is also kept as the status's own (status_reason) while the status lasts.
    `reason_optional` lets the spreadsheet import mark a dependency at risk without one, as
    its rows carry none (docs/dependencies.md).

    Accepting one nobody owns makes `owner` its owner when given (on the provider side, as
    check_owner says), else whoever accepted when they are on the provider side; someone
    acting for the provider from outside it (operations) leaves it unowned.

    signals.dependency_answered tells the layers above (the needing squad hears of a
    decline or an at risk). With `seen_status`, the change applies only if the status is
    still the one the person saw: if someone answered meanwhile, nothing is written and
    they are told.
    """
    if action not in RESPONSES:
        raise ValidationError({"action": "Accept, decline, mark at risk or mark done."})
    status = RESPONSES[action]
    reason = reason.strip()
    seen = seen_status or dependency.status
    if seen != dependency.status:
        raise ValidationError(_answered_meanwhile(dependency))
    if problem := transition_problem(dependency.status, status):
        raise ValidationError({"action": problem})
    # Asked after the lifecycle: no point saying why for an answer that may not be given.
    unexplained_ok = reason_optional and action == "at_risk" and not reason
    if (problem := reason_problem(action, reason)) and not unexplained_ok:
        raise ValidationError({"reason": problem})
    now = now or timezone.now()
    explained = action in ("decline", "at_risk")
    values: dict = {
        "status": status,
        "status_reason": reason if explained else "",
        "updated_at": now,
    }
    words = RESPONSE_WORDS[action] + (f": {reason}" if reason else "")
    new_owner = None
    if action == "accept" and dependency.owner_id is None:
        new_owner = _owner_on_accept(dependency, by, owner)
        if new_owner is not None:
            values["owner_id"] = new_owner.pk
            words += f"; {display_name(new_owner)} owns it now"
    if explained and reason:
        day = timezone.localtime(now).date()
        if action == "decline":
            line = f"Declined by {display_name(by)} on {day:%d %b %Y}: {reason}"
        else:
            line = f"At risk, said {display_name(by)} on {day:%d %b %Y}: {reason}"
        # Appended by the database to the note as it is at the moment of writing: a note
        # the needing side saved since this page was drawn is kept, not replaced.
        values["note"] = Case(
            When(note="", then=Value(line)),
            default=Concat(F("note"), Value("\n\n" + line)),
            output_field=TextField(),
        )
    where: dict = {"status": seen}
    if new_owner is not None:
        where["owner__isnull"] = True
    with transaction.atomic():
        try:
            saved = versioning.save_versioned(
                dependency,
                values=values,
                expected=None,
                where=where,
                by=by,
                squad_ids=squads_of(dependency),
                reason=words,
            )
        except versioning.Conflict:
            dependency.refresh_from_db()
            raise ValidationError(_answered_meanwhile(dependency)) from None
        dependency.status = status
        dependency.status_reason = values["status_reason"]
        dependency.note = saved.note
        dependency.updated_at = now
        if new_owner is not None:
            dependency.owner = new_owner
        events.publish_dependency(events.ANSWERED[action], dependency, by=by, reason=reason)
        dependency_answered.send(
            sender=Dependency,
            dependency=dependency,
            by=by,
            action=action,
            reason=reason,
            was=seen,
        )
    return dependency


def dependency_move_due(
    *,
    dependency: Dependency,
    by: User,
    due: dt.date | None,
    version: int | None,
    reason: str = "",
) -> Dependency:
    """The needing side agrees a new date. With `version`, only if nobody saved the
    dependency since (else versioning.Conflict)."""
    if due is None:
        raise ValidationError({"due": "Say by when it is needed now."})
    if problem := date_problem(due):
        raise ValidationError({"due": problem})
    if due == dependency.due:
        raise ValidationError({"due": f"It is due on {due:%d %b %Y} already."})
    saved = versioning.save_versioned(
        dependency,
        values={"due": due},
        expected=version,
        by=by,
        squad_ids=squads_of(dependency),
        reason=reason or f"Due date moved from {dependency.due:%d %b %Y} to {due:%d %b %Y}",
    )
    dependency.due = saved.due
    dependency.version = saved.version
    return dependency
