"""Who speaks to the customer at a moment of the journey map: touchpoints' writes.

Like the rest of journeys.services, each function validates, writes inside one transaction
and raises ValidationError with per-field messages when it refuses. A touchpoint keeps no
version of its own: an edit or a removal carries the digest of what the editor showed
(`touchpoint_version`), and is refused, overwriting nothing, when someone saved since.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from core.models import Profile
from journeys.models import TOUCHPOINTS_PER_MOMENT, JourneySegment, Moment, Segment, Touchpoint
from journeys.services import _clean_text, _raise, _stale, fingerprint

TOUCHPOINT_FIELDS = ("channel", "function", "squad_id", "segment_id", "message")
TOUCHPOINT_FUNCTIONS_MAX = 200


def touchpoint_version(touchpoint: Touchpoint) -> str:
    """The version of a touchpoint as an editor showed it (it keeps no version of its own)."""
    return fingerprint(touchpoint, TOUCHPOINT_FIELDS)


def touchpoint_functions() -> list[str]:
    """The functions people already have and touchpoints already name, for the editor's
    suggestions: at most TOUCHPOINT_FUNCTIONS_MAX, alphabetical, one query."""
    names = (
        Profile.objects.exclude(function="")
        .order_by()
        .values_list("function", flat=True)
        .union(
            Touchpoint.objects.exclude(function="").order_by().values_list("function", flat=True)
        )
        .order_by("function")
    )
    return sorted(names[:TOUCHPOINT_FUNCTIONS_MAX], key=str.casefold)


def _touchpoint_values(
    *,
    moment: Moment,
    cycle,
    channel: str,
    function: str = "",
    squad=None,
    segment: Segment | None = None,
    message: str = "",
) -> dict:
    values = {
        "channel": channel,
        "function": " ".join((function or "").split()),
        "squad": squad,
        "segment": segment,
        "message": _clean_text(message),
    }
    errors: dict[str, list[str]] = {}
    if channel not in Touchpoint.Channel.values:
        errors["channel"] = ["Choose a channel."]
    if len(values["function"]) > 100:
        errors["function"] = ["Use at most 100 characters."]
    if not values["function"] and squad is None:
        errors.setdefault("function", []).append("Say who speaks: a function, a squad, or both.")
    if squad is not None:
        # The squads app sits above this one: its model is reached through the relation.
        squads = Touchpoint._meta.get_field("squad").related_model.objects
        if cycle is None or not squads.filter(pk=squad.pk, cycle=cycle).exists():
            errors["squad"] = ["Choose a squad of the cycle on screen."]
    if (
        segment is not None
        and not JourneySegment.objects.filter(
            journey_id=moment.stage.journey_id, segment=segment
        ).exists()
    ):
        errors["segment"] = ["Choose one of this journey's segments, or all of them."]
    _raise(errors)
    return values


def touchpoint_create(
    *,
    moment: Moment,
    cycle,
    channel: str,
    function: str = "",
    squad=None,
    segment: Segment | None = None,
    message: str = "",
) -> Touchpoint:
    """A touchpoint at the end of the moment's list. `cycle`: the cycle on screen, whose
    live squads may speak."""
    values = _touchpoint_values(
        moment=moment,
        cycle=cycle,
        channel=channel,
        function=function,
        squad=squad,
        segment=segment,
        message=message,
    )
    with transaction.atomic():
        Moment.objects.select_for_update().filter(pk=moment.pk).first()
        if Touchpoint.objects.filter(moment=moment).count() >= TOUCHPOINTS_PER_MOMENT:
            raise ValidationError(
                f"A moment has at most {TOUCHPOINTS_PER_MOMENT} touchpoints: remove or merge "
                "one before adding another."
            )
        last = Touchpoint.objects.filter(moment=moment).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
        return Touchpoint.objects.create(moment=moment, position=position, **values)


def touchpoint_update(
    *,
    touchpoint: Touchpoint,
    version: str,
    cycle,
    channel: str,
    function: str = "",
    squad=None,
    segment: Segment | None = None,
    message: str = "",
) -> Touchpoint:
    """Save a touchpoint if it is still as the editor saw it (`touchpoint_version`)."""
    values = _touchpoint_values(
        moment=touchpoint.moment,
        cycle=cycle,
        channel=channel,
        function=function,
        squad=squad,
        segment=segment,
        message=message,
    )
    with transaction.atomic():
        current = Touchpoint.objects.select_for_update().filter(pk=touchpoint.pk).first()
        if current is None:
            raise ValidationError("This touchpoint was removed after you opened it.")
        if version != touchpoint_version(current):
            raise _stale("touchpoint")
        for field, value in values.items():
            setattr(current, field, value)
        current.save(update_fields=list(values))
    for field, value in values.items():
        setattr(touchpoint, field, value)
    return touchpoint


def touchpoint_delete(*, touchpoint: Touchpoint, version: str) -> None:
    """Remove a touchpoint if it is still as the page that asked showed it."""
    with transaction.atomic():
        current = Touchpoint.objects.select_for_update().filter(pk=touchpoint.pk).first()
        if current is None:
            return
        if version != touchpoint_version(current):
            raise _stale("touchpoint")
        current.delete()
