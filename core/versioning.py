"""Versioned saving: the one compare-and-swap every co-written part saves through.

`save_versioned` is an UPDATE that names the version the editor started from. No row
updated means someone saved since, and `Conflict` says who and when and carries the current
row and the base the editor started from, so the view can show both texts and offer a merge
(docs/cowriting.md). Each accepted save writes its history entry (django-simple-history) in
the same transaction, with the person who saved it, and sends `versioned_saved` there too:
the layers above follow the change from it (the plan's stamp, the review; planning/changes.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.db import connection, models, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

# Sent inside the saving transaction, with `instance` (the row as saved) and `squad_ids`
# (the squads whose plans show it). update() sends no post_save: this is its stand-in.
versioned_saved = Signal()


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


# The history keeps a change's reason in a column of this many characters.
REASON_MAX_LENGTH = 100


def change_reason(text: str) -> str:
    """A reason as the history keeps it: one that is too long is cut, with an ellipsis (the
    whole of it stays where the change put it, a dependency's note say)."""
    if len(text) <= REASON_MAX_LENGTH:
        return text
    return text[: REASON_MAX_LENGTH - 1].rstrip() + "…"


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
    NO_VERSION when the form carried none. Raises Conflict when the version moved on, and
    core.removal.Gone when someone removed the row: a save never writes into a removed row,
    nor brings it back.
    """
    model = type(instance)
    reason = change_reason(reason)
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
                before = model._base_manager.get(pk=instance.pk)
                model.history.bulk_history_create(
                    [before], default_date=getattr(before, "updated_at", None) or timezone.now()
                )
            # The default manager: for a removable model, only rows nobody removed.
            if not model.objects.filter(**filters).update(**changes):
                raise _Stale
            saved = model._base_manager.get(pk=instance.pk)
            model.history.bulk_history_create(
                [saved], update=True, default_user=by, default_change_reason=reason
            )
            versioned_saved.send(
                sender=model, instance=saved, squad_ids=[pk for pk in squad_ids if pk]
            )
    except _Stale:
        current = model._base_manager.get(pk=instance.pk)
        if getattr(current, "removal_id", None) is not None:
            from core.removal import Gone

            raise Gone(current, str(model._meta.verbose_name)) from None
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
    if hasattr(instance, "_as_loaded"):  # as saved now: a later save() compares with this
        instance._as_loaded = dict(saved._as_loaded)
    return saved


def edit_version(conflict, form, current: int) -> int:
    """The version a save from this form is made against: the one the editor started from,
    through any number of invalid posts, or the one a conflict showed them."""
    if conflict is not None:
        return conflict.version
    base = getattr(form, "base_version", None)
    return base if base is not None else current


def save_reason(data) -> str:
    """How the history names a save made from the conflict view."""
    return {
        "mine": "Kept their draft over a newer version",
        "merge": "Merged with a newer version",
    }.get(data.get("choice", ""), "")


class Versioned(models.Model):
    """A row editors co-write: any save() that changes what an editor shows moves its version.

    Editors save through `save_versioned` (an UPDATE that moves the version itself); every
    other writer (the planning-file import, the admin, a shell) saves the model, and this
    moves the version of each part whose content it changed, in the same statement (F()),
    so an editor opened before that write meets the conflict view instead of overwriting it.
    `VERSIONED` maps each content field's attname to the version field it moves.
    """

    VERSIONED: ClassVar[dict[str, str]] = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        loaded = getattr(self, "_as_loaded", None)
        moved: set[str] = set()
        if loaded is not None and not self._state.adding:
            changed = [n for n in loaded if getattr(self, n) != loaded[n]]
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                named = set(update_fields)
                changed = [n for n in changed if n in named or n.removesuffix("_id") in named]
            moved = {self.VERSIONED[n] for n in changed}
            if update_fields is not None and moved:
                kwargs["update_fields"] = {*update_fields, *moved}
            for version in moved:
                setattr(self, version, F(version) + 1)
        super().save(*args, **kwargs)
        if moved:
            self.refresh_from_db(fields=sorted(moved))
        self._as_loaded = {
            name: getattr(self, name) for name in self.VERSIONED if name in self.__dict__
        }

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._as_loaded = {
            name: getattr(instance, name) for name in cls.VERSIONED if name in instance.__dict__
        }
        return instance
