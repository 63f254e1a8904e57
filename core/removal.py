"""Removing without deleting: the column, the managers and the one write every removal uses.

A removable model (a journey, a stage, a squad, an initiative, a key result, a dependency, a
comment) has a `removal` column pointing at the core.models.Removal that took it away. Its
default manager, `objects`, leaves removed rows out, so every page, export, feed, API list and
the review's snapshot stop showing them at once, and so do related managers and prefetches
(Django reaches related rows through the default manager). `everything` sees removed rows
too: the removals themselves, restoring and purging use it. A foreign key read from a live row
(`initiative.stage`) goes through the base manager and still finds what it points at.

Keys stay unique among the rows nobody removed (partial unique constraints), so a key a
removed row held is free again; restoring refuses, with a sentence, when it was taken since.

`write_rows` is the one UPDATE that marks, unmarks or re-points rows for a removal: one
statement per model, the version moved (so an editor who opened the row before meets the
conflict view instead of writing over it), a history entry per row with who and why, and
`rows_changed`, from which the layers above follow the change (planning/changes.py: the
review, the plans' co-writing stamps). Page revisions move by the database's triggers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from django.db import models, transaction
from django.db.models import F
from django.dispatch import Signal
from django.http import Http404
from django.utils import timezone

from core.versioning import change_reason

# Sent inside the writing transaction with `instances`: the rows as written.
rows_changed = Signal()


class LiveManager(models.Manager):
    """The default manager of a removable model: the rows nobody removed."""

    def get_queryset(self):
        return super().get_queryset().filter(removal__isnull=True)


class Removable(models.Model):
    """A model people may remove and restore (see the module's docstring)."""

    removal = models.ForeignKey(
        "core.Removal",
        null=True,
        blank=True,
        editable=False,
        # Deleting the record of a removal would silently bring its rows back: purging
        # deletes the rows first (planning.restores.removals_purge).
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Set while removed: the removal that took it away.",
    )

    class Meta:
        abstract = True

    @property
    def is_removed(self) -> bool:
        return self.removal_id is not None


class Gone(Exception):
    """What a request names was removed: the page says so, and by whom and when, and gives
    back whatever text the request carried (throughline.middleware.GoneMiddleware)."""

    def __init__(self, obj: Removable, what: str) -> None:
        super().__init__(f"This {what} was removed.")
        self.obj = obj
        self.what = what


def gone_or_404(queryset: models.QuerySet, what: str, **lookup: Any) -> NoReturn:
    """For a lookup that found no live row: Gone when a removed row of `queryset` (an
    `everything` queryset) matches, the latest removed first, else 404."""
    removed = (
        queryset.filter(**lookup)
        .exclude(removal=None)
        .select_related("removal__removed_by__profile")
        .order_by("-removal__removed_at", "-pk")
        .first()
    )
    if removed is not None:
        raise Gone(removed, what)
    raise Http404(f"No such {what}.")


def _has_field(model: type[models.Model], name: str) -> bool:
    return any(field.name == name for field in model._meta.concrete_fields)


def write_rows(
    model: type[models.Model],
    pks: Iterable[int],
    values: dict[str, Any],
    *,
    by,
    reason: str,
    where: dict[str, Any] | None = None,
) -> list:
    """Write `values` to the rows of `pks` that still meet `where`; return them as written.

    One UPDATE, whatever the number of rows. Rows that no longer meet `where` (someone removed,
    restored or changed them meanwhile) are left alone and left out of the result: the
    caller compares what it asked for with what it got.
    """
    wanted = sorted({pk for pk in pks if pk is not None})
    if not wanted:
        return []
    base = model._base_manager
    changes = dict(values)
    now = timezone.now()
    if _has_field(model, "version"):
        changes["version"] = F("version") + 1
    if _has_field(model, "updated_at"):
        changes["updated_at"] = now
    history = getattr(model, "history", None)
    with transaction.atomic():
        # Locked in key order, so two removals that meet on the same rows take turns.
        ids = list(
            base.select_for_update()
            .filter(pk__in=wanted, **(where or {}))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        if history is not None:
            kept = set(history.filter(id__in=ids).values_list("id", flat=True).distinct())
            if unrecorded := [pk for pk in ids if pk not in kept]:
                # Rows written before history was kept: record how they were first.
                before = list(base.filter(pk__in=unrecorded))
                history.bulk_history_create(before, default_date=now)
        base.filter(pk__in=ids).update(**changes)
        saved = list(base.filter(pk__in=ids).order_by("pk"))
        if history is not None:
            history.bulk_history_create(
                saved, update=True, default_user=by, default_change_reason=change_reason(reason)
            )
        rows_changed.send(sender=model, instances=saved)
    return saved


def rows_created(model: type[models.Model], rows: list, *, by, batch_size: int = 2000) -> list:
    """Insert new rows in bulk, each with its history entry in `by`'s name, and tell the layers
    above (`rows_changed`, as for a removal: bulk_create sends no post_save). The caller runs
    it in a transaction and turns an IntegrityError into its own message."""
    model.objects.bulk_create(rows, batch_size=batch_size)
    model.history.bulk_history_create(
        rows, batch_size=batch_size, default_user=by, default_change_reason=None
    )
    rows_changed.send(sender=model, instances=rows)
    return rows
