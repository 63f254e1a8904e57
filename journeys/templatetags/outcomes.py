"""{{ segment|outcome_sentence }}: a segment's success outcome in one sentence, or ""."""

from __future__ import annotations

from django import template

from journeys.outcomes import outcome_sentence as sentence

register = template.Library()


@register.filter
def outcome_sentence(segment) -> str:
    return sentence(segment) if segment is not None else ""
