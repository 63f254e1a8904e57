"""Changes to the journey map: journeys, their stages and the moments inside a stage.

Each function validates, writes inside one transaction and raises ValidationError with
per-field messages when it refuses, so a form can show them next to what the person typed.
Edits carry the version the editor started from; if someone else saved in between, the
edit is refused instead of silently overwriting their words: a stage's `version` (saved
through core.versioning like every co-written part), and for moments and the journey's
header, which keep no version of their own, a digest of what the editor showed (`fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify

from core import ordering, versioning
from core.keys import KEY_MAX_LENGTH, key_problem
from core.removal import Gone
from core.validators import is_blank
from journeys.models import (
    EMOTION_MAX,
    EMOTION_MIN,
    VALUE_CHOICES,
    VALUE_MAX,
    VALUE_MIN,
    Journey,
    JourneySegment,
    Moment,
    Segment,
    Stage,
    parse_offset,
    same_when,
)

STAGE_FIELDS = (
    "name",
    "customer_goal",
    "today",
    "tomorrow",
    "emotion_today",
    "emotion_target",
    "value_today",
    "value_target",
    "expansion",
)
MOMENT_FIELDS = ("when", "today", "tomorrow", "value_today", "value_target")
WHEN_HELP = (
    'A time offset such as "Day 1", "Week 2" or "Month 3", or what happens, such as '
    '"First login"; that one keeps its place after the moment before it.'
)
STALE = "stale"


def when_taken_error(when: str) -> str:
    return (
        f'This stage has a moment at "{when}" already: change that one, or say how this one '
        'differs ("Day 1, evening").'
    )


def fingerprint(obj, fields: Iterable[str]) -> str:
    """A short digest of what an editor saw; it changes whenever someone saves new values."""
    values = [obj[name] if isinstance(obj, dict) else getattr(obj, name) for name in fields]
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()[:16]


def journey_version(journey: Journey, segment_ids: Iterable[int]) -> str:
    """The version of a journey's header: its name, description and segments as shown."""
    return fingerprint(
        {"n": journey.name, "d": journey.description, "s": sorted(segment_ids)}, ("n", "d", "s")
    )


def moment_version(moment: Moment) -> str:
    return fingerprint(moment, MOMENT_FIELDS)


def _stale(what: str) -> ValidationError:
    return ValidationError(
        f"Someone else saved this {what} after you opened it. Your text is still here: "
        "compare it with the saved version below, then save again to keep yours.",
        code=STALE,
    )


def _clean_text(value: str | None) -> str:
    return (value or "").strip()


def _require(errors: dict[str, list[str]], values: dict[str, str], *names: str) -> None:
    for name in names:
        if is_blank(values[name]):
            errors.setdefault(name, []).append("This field is required.")


def _check_key(errors: dict[str, list[str]], key: str) -> None:
    problem = key_problem(key)
    if problem:
        errors.setdefault("key", []).append(problem)


def _check_emotions(errors: dict[str, list[str]], **emotions: int) -> None:
    for name, value in emotions.items():
        if not isinstance(value, int) or not EMOTION_MIN <= value <= EMOTION_MAX:
            errors.setdefault(name, []).append(
                f"Choose a feeling from {EMOTION_MIN} (very unhappy) to {EMOTION_MAX} (delighted)."
            )


def _check_values(errors: dict[str, list[str]], **values: int | None) -> None:
    """Value states are optional (None: not recorded), else on the VALUE_CHOICES scale."""
    for name, value in values.items():
        if value is not None and (
            not isinstance(value, int) or not VALUE_MIN <= value <= VALUE_MAX
        ):
            scale = ", ".join(label for _, label in VALUE_CHOICES)
            errors.setdefault(name, []).append(f"Choose a value state: {scale}, or leave it blank.")


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


def key_from_name(name: str) -> str:
    """A key for a new stage or journey when the person leaves it blank: "Day-one setup"."""
    return slugify(name)[:KEY_MAX_LENGTH].strip("-_.")


# Journeys


def journey_create(
    *, key: str, name: str, description: str = "", segments: Iterable[Segment] = ()
) -> Journey:
    key, name, description = _clean_text(key), _clean_text(name), _clean_text(description)
    errors: dict[str, list[str]] = {}
    _require(errors, {"name": name}, "name")
    if key:
        _check_key(errors, key)
    elif name:
        key = key_from_name(name)
        if not key:
            errors["key"] = ["The name has no letters or digits to make a key from; type one."]
    if key and "key" not in errors and Journey.objects.filter(key=key).exists():
        errors.setdefault("key", []).append("A journey with this key already exists.")
    _raise(errors)
    try:
        with transaction.atomic():
            journey = Journey.objects.create(key=key, name=name, description=description)
            JourneySegment.objects.bulk_create(
                JourneySegment(journey=journey, segment=segment) for segment in segments
            )
    except IntegrityError as exc:
        # Someone created the same key a moment ago.
        raise ValidationError({"key": ["A journey with this key already exists."]}) from exc
    return journey


def journey_update(
    *,
    journey: Journey,
    version: str,
    name: str,
    description: str = "",
    segments: Iterable[Segment] = (),
) -> Journey:
    """Save the journey's header if it is still as the editor saw it (`journey_version`)."""
    name, description = _clean_text(name), _clean_text(description)
    errors: dict[str, list[str]] = {}
    _require(errors, {"name": name}, "name")
    _raise(errors)
    wanted = {segment.pk for segment in segments}
    with transaction.atomic():
        current = Journey.everything.select_for_update().get(pk=journey.pk)
        if current.removal_id is not None:
            raise Gone(current, "journey")  # removed meanwhile: nothing is written
        links = JourneySegment.objects.filter(journey=journey)
        have = set(links.values_list("segment_id", flat=True))
        if version != journey_version(current, have):
            raise _stale("journey")
        Journey.objects.filter(pk=journey.pk).update(name=name, description=description)
        links.exclude(segment_id__in=wanted).delete()
        JourneySegment.objects.bulk_create(
            JourneySegment(journey=journey, segment_id=pk) for pk in sorted(wanted - have)
        )
    journey.name, journey.description = name, description
    return journey


# Stages


def _stage_values(
    *,
    name: str,
    customer_goal: str,
    today: str,
    tomorrow: str,
    emotion_today: int,
    emotion_target: int,
    value_today: int | None = None,
    value_target: int | None = None,
    expansion: bool = False,
) -> dict:
    values = {
        "name": _clean_text(name),
        "customer_goal": _clean_text(customer_goal),
        "today": _clean_text(today),
        "tomorrow": _clean_text(tomorrow),
        "emotion_today": emotion_today,
        "emotion_target": emotion_target,
        "value_today": value_today,
        "value_target": value_target,
        "expansion": bool(expansion),
    }
    errors: dict[str, list[str]] = {}
    _require(errors, values, "name", "customer_goal", "today", "tomorrow")
    if len(values["name"]) > 200:
        errors.setdefault("name", []).append("Use at most 200 characters.")
    _check_emotions(errors, emotion_today=emotion_today, emotion_target=emotion_target)
    _check_values(errors, value_today=value_today, value_target=value_target)
    _raise(errors)
    return values


def stage_create(
    *,
    journey: Journey,
    key: str = "",
    name: str,
    customer_goal: str,
    today: str,
    tomorrow: str,
    emotion_today: int,
    emotion_target: int,
    value_today: int | None = None,
    value_target: int | None = None,
    expansion: bool = False,
) -> Stage:
    """A new stage at the end of the journey; the key defaults to one made from the name."""
    errors: dict[str, list[str]] = {}
    try:
        values = _stage_values(
            name=name,
            customer_goal=customer_goal,
            today=today,
            tomorrow=tomorrow,
            emotion_today=emotion_today,
            emotion_target=emotion_target,
            value_today=value_today,
            value_target=value_target,
            expansion=expansion,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
        values = {}
    key = _clean_text(key)
    if key:
        _check_key(errors, key)
    elif _clean_text(name):
        key = key_from_name(_clean_text(name))
        if not key:
            errors["key"] = ["The name has no letters or digits to make a key from; type one."]
    if "key" not in errors and key and Stage.objects.filter(journey=journey, key=key).exists():
        errors.setdefault("key", []).append(f'This journey already has a stage with key "{key}".')
    _raise(errors)
    try:
        with transaction.atomic():
            # Lock the journey so two stages added at once do not share a position.
            Journey.objects.select_for_update().filter(pk=journey.pk).first()
            last = Stage.objects.filter(journey=journey).aggregate(last=Max("position"))["last"]
            position = 0 if last is None else last + 1
            return Stage.objects.create(journey=journey, key=key, position=position, **values)
    except IntegrityError as exc:
        raise ValidationError(
            {"key": [f'This journey already has a stage with key "{key}".']}
        ) from exc


def stage_update(
    *,
    stage: Stage,
    version: int,
    by=None,
    name: str,
    customer_goal: str,
    today: str,
    tomorrow: str,
    emotion_today: int,
    emotion_target: int,
    value_today: int | None = None,
    value_target: int | None = None,
    expansion: bool = False,
) -> Stage:
    values = _stage_values(
        name=name,
        customer_goal=customer_goal,
        today=today,
        tomorrow=tomorrow,
        emotion_today=emotion_today,
        emotion_target=emotion_target,
        value_today=value_today,
        value_target=value_target,
        expansion=expansion,
    )
    try:
        versioning.save_versioned(stage, values=values, expected=version, by=by)
    except versioning.Conflict:
        raise _stale("stage") from None
    for field, value in values.items():
        setattr(stage, field, value)
    return stage


def stage_move(*, stage: Stage, direction: Literal["left", "right"]) -> bool:
    """Swap a stage with its neighbour; False when it is already at that end."""
    if direction not in ("left", "right"):
        raise ValidationError({"direction": ["Move a stage left or right."]})
    with transaction.atomic():
        stages = list(
            Stage.objects.select_for_update()
            .filter(journey_id=stage.journey_id)
            .order_by("position", "id")
        )
        index = next((i for i, s in enumerate(stages) if s.pk == stage.pk), None)
        if index is None:  # removed meanwhile
            raise Gone(Stage.everything.get(pk=stage.pk), "stage")
        other = index - 1 if direction == "left" else index + 1
        if not 0 <= other < len(stages):
            return False
        stages[index], stages[other] = stages[other], stages[index]
        # Renumber everything: positions imported or created by hand may repeat.
        for position, each in enumerate(stages):
            if each.position != position:
                Stage.objects.filter(pk=each.pk).update(position=position)
    return True


def stage_order_set(*, journey: Journey, keys: list[str], was: list[str]) -> list[str]:
    """Put the journey's stages (or some of them) in this order; all its keys as now ordered.

    Refused with core.ordering.OrderChanged when someone reordered them since the page showed
    them in the order `was`, and with a ValidationError when `keys` are not distinct stages of
    this journey: nothing moves either way.
    """
    with transaction.atomic():
        stages = list(
            Stage.objects.select_for_update()
            .filter(journey_id=journey.pk)
            .order_by("position", "id")
        )
        order = ordering.reordered([s.key for s in stages], keys=keys, was=was)
        ordering.renumber(Stage, stages, order)
    return order


# Moments


def _moment_values(
    *,
    when: str,
    today: str,
    tomorrow: str,
    value_today: int | None = None,
    value_target: int | None = None,
    taken_by: Iterable[str] | None = None,
) -> dict:
    when = re.sub(r"\s+", " ", _clean_text(when))
    values = {"when": when[:1].upper() + when[1:], "today": _clean_text(today)}
    values["tomorrow"] = _clean_text(tomorrow)
    errors: dict[str, list[str]] = {}
    if not when:
        errors["when"] = [f"This field is required. {WHEN_HELP}"]
    elif len(when) > 40:
        errors["when"] = ["Keep it to 40 characters."]
    elif taken_by is not None and any(same_when(when, other) for other in taken_by):
        errors["when"] = [when_taken_error(when)]
    _require(errors, values, "tomorrow")
    _check_values(errors, value_today=value_today, value_target=value_target)
    _raise(errors)
    offset = parse_offset(values["when"])
    if offset is not None:
        # Otherwise a new moment goes after the stage's last, and an edited one stays put.
        values["offset_days"] = offset
    values["value_today"], values["value_target"] = value_today, value_target
    return values


def moment_create(
    *,
    stage: Stage,
    when: str,
    today: str = "",
    tomorrow: str,
    value_today: int | None = None,
    value_target: int | None = None,
) -> Moment:
    with transaction.atomic():
        # The stage's row locked, so two people adding "Day 1" at once cannot both succeed.
        Stage.objects.select_for_update().filter(pk=stage.pk).first()
        values = _moment_values(
            when=when,
            today=today,
            tomorrow=tomorrow,
            value_today=value_today,
            value_target=value_target,
            taken_by=Moment.objects.filter(stage=stage).values_list("when", flat=True),
        )
        last = Moment.objects.filter(stage=stage).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
        return Moment.objects.create(stage=stage, position=position, **values)


def moment_update(
    *,
    moment: Moment,
    version: str,
    when: str,
    today: str = "",
    tomorrow: str,
    value_today: int | None = None,
    value_target: int | None = None,
) -> Moment:
    with transaction.atomic():
        Stage.objects.select_for_update().filter(pk=moment.stage_id).first()
        current = Moment.objects.select_for_update().get(pk=moment.pk)
        if version != moment_version(current):
            raise _stale("moment")
        values = _moment_values(
            when=when,
            today=today,
            tomorrow=tomorrow,
            value_today=value_today,
            value_target=value_target,
            taken_by=Moment.objects.filter(stage_id=moment.stage_id)
            .exclude(pk=moment.pk)
            .values_list("when", flat=True),
        )
        Moment.objects.filter(pk=moment.pk).update(**values)
    for field, value in values.items():
        setattr(moment, field, value)
    return moment


def moment_delete(*, moment: Moment, version: str) -> None:
    """Delete the moment if it is still as the page that asked showed it (`moment_version`):
    words someone saved since are never deleted unseen."""
    with transaction.atomic():
        current = Moment.objects.select_for_update().filter(pk=moment.pk).first()
        if current is None:
            return
        if version != moment_version(current):
            raise _stale("moment")
        current.delete()


# Segments


SEGMENT_FIELDS = ("name", "description", "priority")


def segment_version(segment: Segment) -> str:
    """The version of a segment as an editor showed it: its name, description, priority."""
    return fingerprint(segment, SEGMENT_FIELDS)


def _segment_values(*, name: str, description: str, priority: int | None) -> dict:
    values = {"name": _clean_text(name), "description": _clean_text(description)}
    errors: dict[str, list[str]] = {}
    _require(errors, values, "name")
    if len(values["name"]) > 200:
        errors.setdefault("name", []).append("Use at most 200 characters.")
    if priority is not None and not 1 <= priority <= 32767:
        errors["priority"] = ["Use a whole number from 1 (the segment that matters most) up."]
    _raise(errors)
    values["priority"] = priority
    return values


def segment_create(
    *, key: str = "", name: str, description: str = "", priority: int | None = None
) -> Segment:
    """A new customer segment; the key defaults to one made from the name."""
    errors: dict[str, list[str]] = {}
    try:
        values = _segment_values(name=name, description=description, priority=priority)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        values = {}
    key = _clean_text(key)
    if key:
        _check_key(errors, key)
    elif _clean_text(name):
        key = key_from_name(_clean_text(name))
        if not key:
            errors["key"] = ["The name has no letters or digits to make a key from; type one."]
    if key and "key" not in errors and Segment.objects.filter(key=key).exists():
        errors.setdefault("key", []).append("A segment with this key already exists.")
    _raise(errors)
    try:
        with transaction.atomic():
            return Segment.objects.create(key=key, **values)
    except IntegrityError as exc:
        raise ValidationError({"key": ["A segment with this key already exists."]}) from exc


def segment_update(
    *, segment: Segment, version: str, name: str, description: str = "", priority: int | None
) -> Segment:
    """Rename or describe a segment, if it is still as the editor saw it (`segment_version`)."""
    values = _segment_values(name=name, description=description, priority=priority)
    with transaction.atomic():
        current = Segment.objects.select_for_update().filter(pk=segment.pk).first()
        if current is None:
            raise ValidationError("This segment was deleted after you opened it.")
        if version != segment_version(current):
            raise _stale("segment")
        Segment.objects.filter(pk=segment.pk).update(**values)
    for field, value in values.items():
        setattr(segment, field, value)
    return segment


def segment_uses(segment: Segment) -> list[str]:
    """Why a segment cannot be deleted: the initiatives and journeys that name it, and the
    milestones (and their readings) of its map."""
    # Initiatives are the squads app's, a layer above: reached through their relation.
    reasons = []
    initiatives = segment.initiatives.count()
    if initiatives:
        noun = "initiative names" if initiatives == 1 else "initiatives name"
        reasons.append(f"{initiatives} {noun} it as their customer segment")
    milestones = segment.milestones.count()
    if milestones:
        noun = "milestone" if milestones == 1 else "milestones"
        reasons.append(f"its time-to-value map has {milestones} {noun}")
    journeys = list(segment.journeys.order_by("name").values_list("name", flat=True)[:4])
    if journeys:
        named = ", ".join(journeys[:3]) + (" and others" if len(journeys) > 3 else "")
        noun = "journey" if len(journeys) == 1 else "journeys"
        reasons.append(f"the {named} {noun} {'names' if len(journeys) == 1 else 'name'} it")
    return reasons


def segment_delete(*, segment: Segment, version: str) -> None:
    """Delete a segment nothing uses, if it is still as the page that asked showed it.
    A segment that initiatives or journeys name is refused: they would lose it silently."""
    with transaction.atomic():
        current = Segment.objects.select_for_update().filter(pk=segment.pk).first()
        if current is None:
            return
        if version != segment_version(current):
            raise _stale("segment")
        if reasons := segment_uses(current):
            raise ValidationError(
                f"{current.name} cannot be deleted: {' and '.join(reasons)}. Choose another "
                "segment for them first, or keep this one and rename it."
            )
        current.delete()
