"""Input for the journey map. Forms check the shape of what was typed; services decide."""

from __future__ import annotations

from django import forms
from django.db.models import F

from core.keys import KEY_MAX_LENGTH, key_validator
from core.validators import validate_visible
from journeys.models import EMOTION_CHOICES, VALUE_CHOICES, Segment, Touchpoint, parse_offset
from journeys.services import WHEN_HELP, when_error


def _text(label: str, help_text: str = "", *, required: bool = True, rows: int = 3):
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def _emotion(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=EMOTION_CHOICES, coerce=int, initial=0)


def _value(label: str, help_text: str = "") -> forms.TypedChoiceField:
    """A value state, optional: blank means not recorded (never "None", which is a state)."""
    return forms.TypedChoiceField(
        label=label,
        choices=[("", "Not recorded"), *VALUE_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=help_text,
    )


def _key_field(what: str) -> forms.CharField:
    return forms.CharField(
        label="Key",
        required=False,
        max_length=KEY_MAX_LENGTH,
        validators=[key_validator],
        help_text=f"For links and planning files: letters, digits, dots, dashes and underscores. "
        f"Leave blank to make one from the {what}'s name.",
    )


class StageForm(forms.Form):
    name = forms.CharField(label="Stage name", max_length=200, validators=[validate_visible])
    customer_goal = _text(
        "Customer goal", "What the customer is trying to achieve here, in their words."
    )
    today = _text("Broken today", "Where the experience is broken today.")
    tomorrow = _text("Tomorrow", "What it should look like tomorrow.")
    emotion_today = _emotion("Feeling today")
    emotion_target = _emotion("Target feeling")
    value_today = _value("Value today", "The value customers have realised here today.")
    value_target = _value("Value tomorrow", "The value they should have realised here.")
    expansion = forms.BooleanField(label="Expansion conversations happen here", required=False)


class NewStageForm(StageForm):
    key = _key_field("stage")
    field_order = ["name", "key"]


class MomentForm(forms.Form):
    when = forms.CharField(label="When", max_length=40, help_text=WHEN_HELP)
    today = _text("Today", "What happens at this moment today (optional).", required=False)
    tomorrow = _text("Tomorrow", "What should happen at this moment.")
    value_today = _value("Value today")
    value_target = _value("Value tomorrow")

    def clean_when(self) -> str:
        when = self.cleaned_data["when"].strip()
        if parse_offset(when) is None:
            raise forms.ValidationError(when_error(when))
        return when


class JourneyForm(forms.Form):
    name = forms.CharField(label="Journey name", max_length=200, validators=[validate_visible])
    description = _text("Description", "Whose journey this is, from which point to which.")
    description.required = False
    segments = forms.ModelMultipleChoiceField(
        label="Segments that matter most",
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segments"].queryset = Segment.objects.order_by(
            F("priority").asc(nulls_last=True), "name", "id"
        )


class NewJourneyForm(JourneyForm):
    key = _key_field("journey")
    field_order = ["name", "key", "description", "segments"]


class SegmentForm(forms.Form):
    name = forms.CharField(label="Segment name", max_length=200, validators=[validate_visible])
    description = _text(
        "Description", "Who these customers are: the ideal customer profile or a neighbour of it."
    )
    description.required = False
    priority = forms.IntegerField(
        label="Priority",
        required=False,
        min_value=1,
        max_value=32767,
        help_text="Optional. 1 for the segment that matters most; lists show lower numbers first.",
    )


class NewSegmentForm(SegmentForm):
    key = _key_field("segment")
    field_order = ["name", "key", "description", "priority"]


class TouchpointForm(forms.Form):
    """Who speaks to the customer at a moment. The squads a touchpoint may name (those of the
    cycle on screen) and the segments (the journey's) are given by the view; the squads app
    sits above this one, so its queryset comes from the relation Touchpoint declares."""

    channel = forms.ChoiceField(label="Channel", choices=Touchpoint.Channel.choices)
    function = forms.CharField(
        label="Function that speaks",
        max_length=100,
        required=False,
        help_text="A function such as Customer Success; or choose a squad below, or both.",
    )
    squad = forms.ModelChoiceField(
        label="Squad that speaks",
        queryset=Segment.objects.none(),
        required=False,
        empty_label="No squad",
    )
    segment = forms.ModelChoiceField(
        label="To which segment",
        queryset=Segment.objects.none(),
        required=False,
        empty_label="All the journey's segments",
    )
    message = _text("Message", "What is said.", required=False, rows=2)

    def __init__(self, *args, squads, segments, functions_list: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["squad"].queryset = squads
        self.fields["segment"].queryset = segments
        if functions_list:
            self.fields["function"].widget.attrs["list"] = functions_list

    def clean(self):
        data = super().clean()
        silent = not (data.get("function") or "").strip() and data.get("squad") is None
        if silent and "function" not in self.errors and "squad" not in self.errors:
            self.add_error("function", "Say who speaks: a function, a squad, or both.")
        return data
