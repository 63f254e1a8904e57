"""Input for the journey map. Forms check the shape of what was typed; services decide."""

from __future__ import annotations

from django import forms
from django.db.models import F

from core.keys import KEY_MAX_LENGTH, key_validator
from core.validators import validate_visible
from journeys.models import EMOTION_CHOICES, Segment, parse_offset
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


class NewStageForm(StageForm):
    key = _key_field("stage")
    field_order = ["name", "key"]


class MomentForm(forms.Form):
    when = forms.CharField(label="When", max_length=40, help_text=WHEN_HELP)
    today = _text("Today", "What happens at this moment today (optional).", required=False)
    tomorrow = _text("Tomorrow", "What should happen at this moment.")

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
