"""Which planning cycle a person is looking at."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest
from django.utils import timezone

from planning.models import Cycle

SESSION_KEY = "throughline_cycle"


def default_cycle() -> Cycle | None:
    """The cycle running today, else the next to start, else the most recent."""
    today = timezone.localdate()
    return (
        Cycle.objects.annotate(
            rank=Case(
                When(starts__lte=today, ends__gte=today, then=Value(0)),
                When(starts__gt=today, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "starts", "-ends")
        .first()
    )


def current_cycle(request: HttpRequest) -> Cycle | None:
    if hasattr(request, "_throughline_cycle"):
        return request._throughline_cycle
    cycle = None
    key = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if key:
        cycle = Cycle.objects.filter(key=key).first()
    if cycle is None:
        cycle = default_cycle()
    request._throughline_cycle = cycle
    return cycle
