"""The timeline's filters, read from the URL."""

from __future__ import annotations

from django import forms

from core.forms import QuickSelect
from journeys.models import Segment, Stage
from planning.timeline.selectors import NO_STAGE, TimelineFilters
from squads.models import Squad


class TimelineFilterForm(forms.Form):
    """By squad, journey stage, function and segment.

    A filter that does not make sense (an unknown squad, a function nobody plans in) shows
    its error beside the field and is left out; the others still apply.
    """

    def __init__(
        self,
        data,
        *,
        squads: list[Squad],
        stages: list[Stage],
        functions: list[str],
        segments: list[Segment],
    ) -> None:
        super().__init__(data)
        self.fields["squad"] = forms.ChoiceField(
            label="Squad",
            required=False,
            choices=[("", "Every squad"), *[(s.key, s.name) for s in squads]],
            widget=QuickSelect,
        )
        self.fields["stage"] = forms.ChoiceField(
            label="Journey stage",
            required=False,
            choices=[
                ("", "Any stage"),
                *[(s.ref, f"{s.journey.name}: {s.name}") for s in stages],
                (NO_STAGE, "No journey stage"),
            ],
        )
        self.fields["function"] = forms.ChoiceField(
            label="Function",
            required=False,
            choices=[("", "Every function"), *[(f, f) for f in functions]],
        )
        self.fields["segment"] = forms.ChoiceField(
            label="Segment",
            required=False,
            choices=[("", "Every segment"), *[(s.key, s.name) for s in segments]],
        )
        self._squads = {s.key: s for s in squads}
        self._stages = {s.ref: s for s in stages}
        self._segments = {s.key: s for s in segments}

    def value(self, name: str) -> str:
        """The cleaned value of a valid filter, else ""."""
        self.is_valid()
        if name in self.errors:
            return ""
        return self.cleaned_data.get(name) or ""

    def filters(self, *, cycle_id: int, hidden: frozenset[int]) -> TimelineFilters:
        squad = self._squads.get(self.value("squad"))
        stage_value = self.value("stage")
        stage = self._stages.get(stage_value)
        segment = self._segments.get(self.value("segment"))
        return TimelineFilters(
            cycle_id=cycle_id,
            hidden=hidden,
            squad_id=squad.pk if squad else None,
            stage_id=stage.pk if stage else None,
            no_stage=stage_value == NO_STAGE,
            function=self.value("function"),
            segment_id=segment.pk if segment else None,
        )

    def active(self) -> bool:
        return any(self.value(name) for name in ("squad", "stage", "function", "segment"))
