"""Co-writing a plan: saves that never overwrite unseen work, the "plan changed" stamp that
polls compare against, who is editing what, comments with mentions (docs/cowriting.md).

- `save_versioned` is the one compare-and-swap every co-written part saves through: an
  UPDATE that names the version the editor started from. No row updated means someone saved
  since, and `Conflict` says who and when and carries the current row and the base the
  editor started from, so the view can show both texts and offer a merge.
  Each accepted save writes its history entry (django-simple-history) in the same
  transaction, with the person who saved it, and moves the plan's stamp.
- `stamp()` answers a poll from the cache when the cache is shared by every web worker
  (Redis), else from one primary-key query on PlanStamp, which stays the truth either way.
- Presence rows say who has which part open; they run out on their own after
  COWRITING_PRESENCE_SECONDS unless the editor's page renews them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Min
from django.utils import timezone

from planning.models import Notification
from squads.models import Comment, Initiative, PlanStamp, Presence

logger = logging.getLogger(__name__)

STAMP_KEY = "throughline:cowriting:stamp:{}"
TOKEN_SALT = "throughline.cowriting.poll"
TOKEN_MAX_AGE = 12 * 60 * 60
COMMENT_MAX_LENGTH = 5000
# @username as Django allows usernames: letters, digits and @ . + - _ ; a sentence's full
# stop after the name is not part of it.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


# ---------------------------------------------------------------------------------------
# Compare-and-swap with history
# ---------------------------------------------------------------------------------------


class Conflict(Exception):
    """Someone saved this part after the editor opened it; nothing was written."""

    def __init__(self, *, current, version: int, saved_by, saved_at, base) -> None:
        super().__init__("Someone else saved this after you opened it.")
        self.current = current  # the row as it is now
        self.version = version  # its version now: saving again against it is deliberate
        self.saved_by = saved_by  # who saved that version (None if not known)
        self.saved_at = saved_at
        self.base = base  # the history entry of the version the editor started from, or None


class _Stale(Exception):
    pass


# Versions start at 1, so no row is ever at NO_VERSION: a save that names it always meets
# the conflict view instead of being applied blindly.
NO_VERSION = 0
_VERSION_MAX = 2**31 - 1


def posted_version(data) -> int:
    """The version an editor's form says its content was read at.

    A form that sends none, or one that is not a whole number a row could have, is answered
    with NO_VERSION: the save then shows the conflict view (the text as it is now beside the
    person's draft) rather than writing over words its author never saw.
    """
    raw = (data.get("version") or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return NO_VERSION
    value = int(raw)
    return value if 1 <= value <= _VERSION_MAX else NO_VERSION


# Rows known to have history entries committed: a row keeps its history for good, so this
# process need not ask again on every save. Bounded: emptied when it grows past the limit.
_WITH_HISTORY: set[tuple[str, int]] = set()
_WITH_HISTORY_LIMIT = 100_000


def _has_history(model: type[models.Model], pk: int) -> bool:
    key = (model._meta.label, pk)
    if key in _WITH_HISTORY:
        return True
    found = model.history.filter(id=pk).exists()
    # Only what another transaction committed (this block is the outermost): an entry this
    # transaction wrote could still be rolled back.
    if found and len(connection.atomic_blocks) == 1:
        if len(_WITH_HISTORY) >= _WITH_HISTORY_LIMIT:
            _WITH_HISTORY.clear()
        _WITH_HISTORY.add(key)
    return found


def saved_entry(model: type[models.Model], pk: int, version_field: str, version: int):
    """The history entry that made this version (the first one carrying it), or None."""
    return (
        model.history.filter(id=pk, **{version_field: version})
        .select_related("history_user__profile")
        .order_by("history_date", "history_id")
        .first()
    )


def save_versioned(
    instance: models.Model,
    *,
    values: dict[str, Any],
    expected: int | None,
    by,
    version_field: str = "version",
    squad_ids: Iterable[int | None] = (),
    reason: str = "",
    where: dict[str, Any] | None = None,
):
    """Write `values` if the row is still at version `expected`; return the row as saved.

    `where` adds conditions the row must still meet (the status a person answered).

    `expected=None` writes whatever the version (imports and the API, which replace a whole
    record on purpose); the version still goes up, so editors who opened the old one are
    told. Editors never pass None: they pass `posted_version(request.POST)`, which is
    NO_VERSION when the form carried none. Raises Conflict when the version moved on.
    """
    model = type(instance)
    changes: dict[str, Any] = {**values, version_field: F(version_field) + 1}
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        changes.setdefault("updated_at", timezone.now())
    filters: dict[str, Any] = {"pk": instance.pk, **(where or {})}
    if expected is not None:
        filters[version_field] = expected
    try:
        with transaction.atomic():
            if not _has_history(model, instance.pk):
                # A row written before history was kept: record how it was, so the first
                # change has a "before".
                before = model.objects.get(pk=instance.pk)
                model.history.bulk_history_create(
                    [before], default_date=getattr(before, "updated_at", None) or timezone.now()
                )
            if not model.objects.filter(**filters).update(**changes):
                raise _Stale
            saved = model.objects.get(pk=instance.pk)
            model.history.bulk_history_create(
                [saved], update=True, default_user=by, default_change_reason=reason
            )
            plan_changed(squad_ids)
    except _Stale:
        current = model.objects.get(pk=instance.pk)
        version = getattr(current, version_field)
        entry = saved_entry(model, instance.pk, version_field, version)
        base = (
            saved_entry(model, instance.pk, version_field, expected)
            if expected is not None
            else None
        )
        raise Conflict(
            current=current,
            version=version,
            saved_by=entry.history_user if entry else None,
            saved_at=entry.history_date if entry else None,
            base=base,
        ) from None
    written = {*values, version_field, "updated_at"}
    for field in model._meta.concrete_fields:
        if field.name in written:
            setattr(instance, field.attname, getattr(saved, field.attname))
    return saved


# ---------------------------------------------------------------------------------------
# The stamp a poll compares against
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    revision: int = 0
    presence_revision: int = 0
    presence_until: dt.datetime | None = None

    @property
    def etag(self) -> str:
        return f"{self.revision}.{self.presence_revision}"

    def presence_expired(self, now: dt.datetime) -> bool:
        return self.presence_until is not None and self.presence_until <= now


def _stamp_key(squad_id: int) -> str:
    return STAMP_KEY.format(squad_id)


def _forget_stamps(squad_ids: Iterable[int]) -> None:
    keys = [_stamp_key(pk) for pk in squad_ids]
    if not keys or not settings.COWRITING_SHARED_CACHE:
        return
    try:
        cache.delete_many(keys)
    except Exception:  # the database stays the truth; the entry runs out by itself
        logger.warning("could not clear the plan stamp from the cache", exc_info=True)


def _forget_stamps_now_and_after_commit(squad_ids: set[int]) -> None:
    # Now, so this process never answers from the old stamp; after the commit, because a
    # poll in between may have cached the old one again.
    _forget_stamps(squad_ids)
    transaction.on_commit(lambda: _forget_stamps(squad_ids))


def _ensure_stamps(squad_ids: set[int]) -> None:
    PlanStamp.objects.bulk_create(
        [PlanStamp(squad_id=pk) for pk in squad_ids], ignore_conflicts=True
    )


def plan_changed(squad_ids: Iterable[int | None], *, create: bool = True) -> None:
    """Move the stamp of these squads' plans, with the change that caused it."""
    ids = {pk for pk in squad_ids if pk is not None}
    if not ids:
        return
    if create and connection.vendor == "postgresql":
        # One statement: insert at 1 or add one; two first changes at once still count twice.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO planning_planstamp (squad_id, revision, presence_revision)"
                " SELECT unnest(%s::bigint[]), 1, 0"
                " ON CONFLICT (squad_id) DO UPDATE SET revision = planning_planstamp.revision + 1",
                [sorted(ids)],
            )
        _forget_stamps_now_and_after_commit(ids)
        return
    with transaction.atomic():
        # Insert-if-missing, then increment: two first changes at once still count twice.
        if create:
            _ensure_stamps(ids)
        PlanStamp.objects.filter(squad_id__in=ids).update(revision=F("revision") + 1)
        _forget_stamps_now_and_after_commit(ids)


def stamp(squad_id: int) -> Stamp:
    """The plan's stamp: a cache hit when the cache is shared, else one indexed query."""
    shared = settings.COWRITING_SHARED_CACHE
    if shared:
        try:
            cached = cache.get(_stamp_key(squad_id))
        except Exception:
            logger.warning("plan stamp read from the database: cache unreachable", exc_info=True)
            cached, shared = None, False
        if cached is not None:
            return Stamp(*cached)
    row = (
        PlanStamp.objects.filter(squad_id=squad_id)
        .values_list("revision", "presence_revision", "presence_until")
        .first()
    )
    found = Stamp(*row) if row else Stamp()
    if shared:
        try:
            # Briefly: a save deletes the entry, and a reader that raced it can only put
            # back a stale stamp for this long.
            cache.set(
                _stamp_key(squad_id),
                (found.revision, found.presence_revision, found.presence_until),
                timeout=settings.COWRITING_STAMP_SECONDS,
            )
        except Exception:
            logger.warning("could not cache the plan stamp", exc_info=True)
    return found


def poll_token(*, user_id: int, squad_id: int) -> str:
    """What a plan page sends with each poll: who loaded it, for which squad, signed."""
    return signing.dumps([user_id, squad_id], salt=TOKEN_SALT, compress=False)


def read_poll_token(token: str) -> tuple[int, int] | None:
    try:
        user_id, squad_id = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return int(user_id), int(squad_id)


# ---------------------------------------------------------------------------------------
# Presence: who is editing which part
# ---------------------------------------------------------------------------------------


def _presence_stamp(squad_id: int, *, moved: bool, now: dt.datetime) -> None:
    until = Presence.objects.filter(squad_id=squad_id, expires_at__gt=now).aggregate(
        until=Min("expires_at")
    )["until"]
    _ensure_stamps({squad_id})
    changes: dict[str, Any] = {"presence_until": until}
    if moved:
        changes["presence_revision"] = F("presence_revision") + 1
    PlanStamp.objects.filter(squad_id=squad_id).update(**changes)
    _forget_stamps_now_and_after_commit({squad_id})


def presence_touch(
    *, squad_id: int, person, part: str, label: str, now: dt.datetime | None = None
) -> None:
    """This person has `part` open; others see it until the presence runs out."""
    now = now or timezone.now()
    expires = now + dt.timedelta(seconds=settings.COWRITING_PRESENCE_SECONDS)
    with transaction.atomic():
        previous = (
            Presence.objects.filter(squad_id=squad_id, person=person, expires_at__gt=now)
            .values_list("part", flat=True)
            .first()
        )
        try:
            with transaction.atomic():
                Presence.objects.update_or_create(
                    squad_id=squad_id,
                    person=person,
                    defaults={"part": part, "label": label[:300], "expires_at": expires},
                )
        except IntegrityError:  # created by the same person's other tab a moment ago
            Presence.objects.filter(squad_id=squad_id, person=person).update(
                part=part, label=label[:300], expires_at=expires
            )
        _presence_stamp(squad_id, moved=previous != part, now=now)


def presence_leave(*, squad_id: int, person, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        deleted, _ = Presence.objects.filter(squad_id=squad_id, person=person).delete()
        if deleted:
            _presence_stamp(squad_id, moved=True, now=now)


def presence_sweep(*, squad_id: int, now: dt.datetime | None = None) -> bool:
    """Drop presences that ran out; True if any did."""
    now = now or timezone.now()
    with transaction.atomic():
        deleted, _ = Presence.objects.filter(squad_id=squad_id, expires_at__lte=now).delete()
        _presence_stamp(squad_id, moved=bool(deleted), now=now)
    return bool(deleted)


def present(*, squad_id: int, now: dt.datetime | None = None) -> list[Presence]:
    now = now or timezone.now()
    return list(
        Presence.objects.filter(squad_id=squad_id, expires_at__gt=now)
        .select_related("person__profile")
        .order_by("label", "person__username")
    )


def short_name(person) -> str:
    """How a colleague is called in passing: the first word of the display name."""
    profile = getattr(person, "profile", None)
    name = (getattr(profile, "display_name", "") or "").strip()
    return name.split()[0] if name else person.get_username()


def full_name(person) -> str:
    if person is None:
        return "Someone"
    profile = getattr(person, "profile", None)
    return (getattr(profile, "display_name", "") or "").strip() or person.get_username()


# ---------------------------------------------------------------------------------------
# Comments and mentions
# ---------------------------------------------------------------------------------------


def mentioned_usernames(body: str) -> list[str]:
    names = []
    for match in MENTION_RE.finditer(body):
        name = match.group(1).rstrip(".")
        if name and name not in names:
            names.append(name)
    return names


def comment_add(
    *,
    squad,
    body: str,
    by,
    section: str = "",
    initiative: Initiative | None = None,
    where: str,
    url: str,
) -> Comment:
    """Add a comment to a section's or an initiative's thread; tell whoever it @mentions.

    `where` names the thread for the notification ("First 90 Days · Desired customer
    experience"), `url` is where the notification leads.
    """
    body = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").split("\n")).strip()
    if not body:
        raise ValidationError({"body": "Write the comment first."})
    if len(body) > COMMENT_MAX_LENGTH:
        raise ValidationError({"body": f"Keep a comment to {COMMENT_MAX_LENGTH} characters."})
    if (initiative is None) == (not section):
        raise ValueError("A comment belongs to a section or to an initiative.")
    with transaction.atomic():
        comment = Comment.objects.create(
            squad=squad, section=section, initiative=initiative, author=by, body=body
        )
        names = mentioned_usernames(body)
        if names:
            from core.access import readers_of_plan

            # Only people who may read this plan: a draft the cycle keeps to the squad is
            # not quoted to anyone else, mentioned or not.
            people = readers_of_plan(
                squad,
                get_user_model()
                .objects.filter(username__in=names, is_active=True)
                .exclude(pk=by.pk),
            )
            excerpt = body if len(body) <= 140 else body[:139].rstrip() + "…"
            Notification.objects.bulk_create(
                Notification(
                    recipient=person,
                    kind=Notification.Kind.MENTION,
                    comment=comment,
                    url=url,
                    message=f"{full_name(by)} mentioned you on {where}: “{excerpt}”",
                )
                for person in people
            )
        plan_changed([squad.pk])
    return comment


# ---------------------------------------------------------------------------------------
# Saves made outside save_versioned (creating, deleting, the admin) move the stamp too
# ---------------------------------------------------------------------------------------


def _squads_of(instance) -> list[int | None]:
    from dependencies.models import Dependency
    from squads.models import OKR, KeyResult, Plan

    if isinstance(instance, Plan | Initiative | Comment | OKR):
        return [instance.squad_id]
    if isinstance(instance, KeyResult):
        return list(OKR.objects.filter(pk=instance.okr_id).values_list("squad_id", flat=True))
    if isinstance(instance, Dependency):
        ids = [instance.from_squad_id, instance.to_squad_id]
        initiatives = [instance.from_initiative_id, instance.to_initiative_id]
        if any(initiatives):
            ids += list(
                Initiative.objects.filter(pk__in=[pk for pk in initiatives if pk]).values_list(
                    "squad_id", flat=True
                )
            )
        return ids
    return []


def _saved(sender, instance, raw: bool = False, **kwargs) -> None:
    if not raw:
        plan_changed(_squads_of(instance))


def _deleted(sender, instance, **kwargs) -> None:
    # The squad itself may be on its way out in the same transaction: touch, never create.
    plan_changed(_squads_of(instance), create=False)


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from dependencies.models import Dependency
    from squads.models import OKR, KeyResult, Plan

    for model in (Plan, Initiative, Comment, OKR, KeyResult, Dependency):
        uid = f"cowriting-{model._meta.label_lower}"
        post_save.connect(_saved, sender=model, weak=False, dispatch_uid=uid)
        post_delete.connect(_deleted, sender=model, weak=False, dispatch_uid=uid)
