"""Input for the journey map. Forms check the shape of what was typed; services decide."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F

from core.keys import KEY_MAX_LENGTH, key_validator
from core.people import choosable, display_name
from core.validators import validate_visible
from journeys.models import (
    EMOTION_CHOICES,
    VALUE_CHOICES,
    Moment,
    Segment,
    Touchpoint,
)
from journeys.services import WHEN_HELP


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
        return self.cleaned_data["when"].strip()


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


# Success outcomes and milestone maps (journeys/outcomes.py decides; these read the input).


class _PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return display_name(obj)


class OutcomeForm(forms.Form):
    threshold = forms.DecimalField(
        label="Threshold",
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=0,
        help_text="e.g. 80",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    unit = forms.CharField(label="Unit", required=False, max_length=20, help_text='e.g. "%"')
    metric = forms.CharField(
        label="Metric", required=False, max_length=200, help_text='e.g. "of seats active"'
    )
    within_days = forms.IntegerField(
        label="Within (days)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text="Days from the customer's start, 1 to 3650.",
    )
    owner = _PersonField(
        label="Owner",
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Nobody yet",
        help_text="Who answers for this outcome; they may record the milestones' readings.",
    )

    def __init__(self, *args, owner_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = choosable(keep=[owner_id])


class MilestoneForm(forms.Form):
    name = forms.CharField(label="Milestone", max_length=200, validators=[validate_visible])
    expected_day = forms.IntegerField(
        label="Expected by day",
        min_value=0,
        max_value=3650,
        help_text="Days from the customer's start by which they should reach it.",
    )
    description = _text("Description", "What the customer has done or has when they reach it.")
    description.required = False
    moment = forms.ModelChoiceField(
        label="Journey moment",
        required=False,
        queryset=Moment.objects.none(),
        empty_label="No particular moment",
        help_text="The moment of the segment's journeys where it happens.",
    )
    success = forms.BooleanField(
        label="This is the success milestone",
        required=False,
        help_text="Where the segment's success outcome is reached. Only one milestone is: "
        "marking this one unmarks the other.",
    )

    def __init__(self, *args, moments=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["moment"]
        field.queryset = moments if moments is not None else Moment.objects.none()
        field.label_from_instance = lambda m: (
            f"{m.stage.journey.name} · {m.stage.name} · {m.when}: {m.tomorrow[:60]}"
        )


class NewMilestoneForm(MilestoneForm):
    key = _key_field("milestone")
    field_order = ["name", "key", "expected_day", "description", "moment", "success"]


class ReadingForm(forms.Form):
    measured_on = forms.DateField(
        label="Measured on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Default today. A reading already recorded for this day is replaced by this one.",
    )
    actual_days = forms.DecimalField(
        label="Actual days",
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=1,
        help_text="Days customers actually took to reach it (median).",
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    completion_rate = forms.DecimalField(
        label="Completion rate (%)",
        required=False,
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        help_text="Percent of customers who reached it by the expected day.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )
    customers = forms.IntegerField(
        label="Customers", required=False, min_value=0, help_text="How many were measured."
    )
    note = _text("Note", required=False, rows=2)

    def clean(self):
        data = super().clean()
        if (
            not self.errors
            and data.get("actual_days") is None
            and data.get("completion_rate") is None
        ):
            raise forms.ValidationError("Give the actual days, the completion rate, or both.")
        return data


class ReadingsUploadForm(forms.Form):
    file = forms.FileField(
        label="Readings CSV",
        help_text="Columns milestone,measured_on,actual_days,completion_rate,customers,note "
        "(the header row first; milestone is a milestone's key). At most 1 MB and 5,000 rows. "
        "A reading for a milestone and day already recorded is replaced.",
    )


class FeedForm(forms.Form):
    url = forms.CharField(
        label="Feed address",
        required=False,
        max_length=500,
        help_text="A CSV address (http or https) with the same columns as an upload, pulled "
        "on a schedule. Leave blank to stop pulling.",
    )


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
