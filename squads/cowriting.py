"""Co-writing a plan: the "plan changed" stamp that polls compare against, who is editing
what, comments with mentions (docs/cowriting.md).

- `stamp()` answers a poll from the cache when the cache is shared by every web worker
  (Redis), else from one primary-key query on PlanStamp, which stays the truth either way.
  `plan_changed` moves it; every versioned save does (connected in SquadsConfig.ready).
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
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from core import versioning
from core.people import full_name, short_name  # noqa: F401 (the names the pages use)
from squads.models import Comment, Initiative, PlanStamp, Presence

logger = logging.getLogger(__name__)

STAMP_KEY = "throughline:cowriting:stamp:{}"
TOKEN_SALT = "throughline.cowriting.poll"
TOKEN_MAX_AGE = 12 * 60 * 60
COMMENT_MAX_LENGTH = 5000
# @username as Django allows usernames: letters, digits and @ . + - _ ; a sentence's full
# stop after the name is not part of it.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.@+-]+)")


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
) -> Comment:
    """Add a comment to a section's or an initiative's thread.

    Whom it @mentions is told by the caller (planning.services.mentions_notify), which knows
    where the thread is and who may read it.
    """
    body = _comment_text(body)
    if (initiative is None) == (not section):
        raise ValueError("A comment belongs to a section or to an initiative.")
    with transaction.atomic():
        comment = Comment.objects.create(
            squad=squad, section=section, initiative=initiative, author=by, body=body
        )
        # Something new to say opens a resolved thread again.
        thread_of(comment).exclude(pk=comment.pk).filter(resolved_at__isnull=False).update(
            resolved_at=None, resolved_by=None
        )
        plan_changed([squad.pk])
    return comment


def _comment_text(body: str) -> str:
    body = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").split("\n")).strip()
    if not body:
        raise ValidationError({"body": "Write the comment first."})
    if len(body) > COMMENT_MAX_LENGTH:
        raise ValidationError({"body": f"Keep a comment to {COMMENT_MAX_LENGTH} characters."})
    return body


def thread_of(comment: Comment):
    """The live comments of the thread `comment` is in."""
    if comment.initiative_id is not None:
        return Comment.objects.filter(
            squad_id=comment.squad_id, initiative_id=comment.initiative_id
        )
    return Comment.objects.filter(
        squad_id=comment.squad_id, initiative__isnull=True, section=comment.section
    )


def comment_edit(*, comment: Comment, by, body: str, version: int | None) -> list[str]:
    """Its author changes a comment's text, if nobody changed it since `version` (else
    core.versioning.Conflict). The text it had stays in its history. Returns the usernames
    the new text @mentions that no earlier text did: only they are told of the edit."""
    if comment.author_id != by.pk:
        raise ValidationError("Only its author can edit a comment.")
    body = _comment_text(body)
    before = comment.body
    if body == before:
        raise ValidationError({"body": "That is the text it has already."})
    saved = versioning.save_versioned(
        comment,
        values={"body": body, "edited_at": timezone.now()},
        expected=version,
        by=by,
        squad_ids=[comment.squad_id],
        reason="Edited by its author",
    )
    comment.body, comment.version, comment.edited_at = saved.body, saved.version, saved.edited_at
    # Everyone any earlier text named was told once already.
    known = set(mentioned_usernames(before))
    for earlier in comment.history.exclude(body=body).values_list("body", flat=True).distinct():
        known.update(mentioned_usernames(earlier))
    return [name for name in mentioned_usernames(body) if name not in known]


def comment_thread_resolve(*, comment: Comment, by, resolved: bool) -> int:
    """Resolve the thread `comment` is in (every comment it holds now), or open it again.
    The number of comments marked."""
    with transaction.atomic():
        thread = thread_of(comment)
        if resolved:
            marked = thread.filter(resolved_at__isnull=True).update(
                resolved_at=timezone.now(), resolved_by=by
            )
        else:
            marked = thread.filter(resolved_at__isnull=False).update(
                resolved_at=None, resolved_by=None
            )
        if marked:
            plan_changed([comment.squad_id])
    return marked


def follow_versioned_saves(sender, *, squad_ids=(), **kwargs) -> None:
    """A versioned save moved a part of these squads' plans (core.versioning)."""
    plan_changed(squad_ids)
