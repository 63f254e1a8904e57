"""Forms for the squad pages and the plan: they read and check input; services write."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.utils.html import format_html, format_html_join

from core.forms import FormWithErrors
from core.keys import KEY_HELP, KEY_MAX_LENGTH, KEY_RESERVED, RESERVED_KEYS, key_validator
from core.models import Capacity, Cycle, Profile
from core.numbers import plain_number
from core.people import choosable, display_name
from core.validators import DATE_MAX, DATE_MIN, validate_date_in_range, validate_visible
from journeys.models import Journey, Milestone, Segment, Stage
from squads import services
from squads.models import (
    IMPACT_MAX,
    IMPACT_MIN,
    Goal,
    Initiative,
    KeyResult,
    Membership,
    Squad,
)

User = get_user_model()


def known_functions() -> list[str]:
    """Every function named anywhere, for suggestions; one query."""
    names = (
        Profile.objects.exclude(function="")
        .order_by()
        .values_list("function", flat=True)
        .union(
            Membership.objects.order_by().values_list("function", flat=True),
            Initiative.objects.order_by().values_list("function", flat=True),
            Capacity.objects.order_by().values_list("function", flat=True),
        )
        .order_by()
    )
    return sorted(set(names), key=str.casefold)


def person_label(user) -> str:
    profile = getattr(user, "profile", None)
    if profile is None:
        return user.get_username()
    if profile.title:
        return f"{profile.display_name} · {profile.title}"
    return profile.display_name


def people(*, keep=()):
    return choosable(keep=keep)


class DatalistInput(forms.TextInput):
    """A free-text input with suggestions; the datalist travels with the input."""

    def __init__(self, options=(), attrs=None):
        super().__init__(attrs)
        self.options = list(options)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}_options"
        attrs["list"] = list_id
        attrs.setdefault("autocomplete", "off")
        html = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}"></option>', ((o,) for o in self.options))
        return format_html('{}<datalist id="{}">{}</datalist>', html, list_id, options)


class StagesField(forms.ModelMultipleChoiceField):
    """Journey stages to tick, each named with its journey when there is more than one."""

    show_journey = True

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Stage.objects.none())
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(**kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{obj.journey.name} · {obj.name}" if self.show_journey else obj.name


def stage_choices(field: StagesField) -> None:
    """Every journey's stages, in journey order, as the journey map shows them."""
    field.queryset = Stage.objects.select_related("journey").order_by(
        "journey__name", "journey_id", "position", "id"
    )
    field.show_journey = Journey.objects.filter(stages__isnull=False).distinct().count() > 1


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_label(obj)


def _function_field(label: str = "Function", *, required: bool = True, help_text: str = ""):
    return forms.CharField(
        label=label,
        max_length=100,
        required=required,
        help_text=help_text,
        widget=DatalistInput(),
        validators=[validate_visible],
    )


def _not_reserved(value: str) -> None:
    if value.strip().lower() in RESERVED_KEYS:
        raise forms.ValidationError(KEY_RESERVED)


def _key_field(help_text: str = KEY_HELP, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label="Key",
        max_length=KEY_MAX_LENGTH,
        required=required,
        validators=[key_validator, _not_reserved],
        help_text=help_text,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "none"}),
    )


def _number_field(label: str, *, required: bool = False, help_text: str = "") -> forms.Field:
    return forms.DecimalField(
        label=label,
        max_digits=18,
        decimal_places=4,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any"}),
    )


# ---------------------------------------------------------------------------------------
# Squads, members, the DRI
# ---------------------------------------------------------------------------------------


class SquadCreateForm(FormWithErrors):
    name = forms.CharField(
        label="Name",
        max_length=200,
        help_text="Name the customer outcome, not a department.",
        validators=[validate_visible],
    )
    key = _key_field(f"Used in links, e.g. first-90-days. {KEY_HELP}")
    cycle = forms.ModelChoiceField(
        label="Cycle", queryset=Cycle.objects.order_by("-starts", "key"), empty_label=None
    )
    dri = PersonChoiceField(
        label="DRI",
        queryset=User.objects.none(),
        empty_label="Choose a person…",
        help_text="The one person directly responsible; they become a member.",
    )
    dri_function = _function_field(
        "DRI's function in the squad",
        required=False,
        help_text="Leave empty to use the function on their profile.",
    )
    objective = forms.CharField(
        label="Objective",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Qualitative and customer-facing: what the customer gets.",
        validators=[validate_visible],
    )
    stages = StagesField(
        label="Journey stages it covers",
        help_text="Optional: which stages of the customer's journey this squad answers for. "
        "The squad's DRI and leadership can change them later on the squad's page.",
    )

    def __init__(self, *args, functions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dri"].queryset = people()
        self.fields["dri_function"].widget.options = functions
        stage_choices(self.fields["stages"])

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip()
        if Squad.objects.filter(key=key).exists():
            raise forms.ValidationError("Another squad already uses this key.")
        return key

    def clean(self):
        data = super().clean()
        dri = data.get("dri")
        if dri is not None and not services.default_function(dri, data.get("dri_function", "")):
            self.add_error(
                "dri_function",
                f"{display_name(dri)}'s profile names no function: say which one they bring.",
            )
        return data


class MemberAddForm(FormWithErrors):
    person = PersonChoiceField(
        label="Person", queryset=User.objects.none(), empty_label="Choose a person…"
    )
    function = _function_field(
        required=False, help_text="Leave empty to use the function on their profile."
    )

    def __init__(self, *args, squad: Squad, functions=(), **kwargs):
        kwargs.setdefault("auto_id", "member_%s")
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people().exclude(memberships__squad=squad)
        self.fields["function"].widget.options = functions


class SquadStagesForm(FormWithErrors):
    """Which journey stages a squad covers, and the set the editor started from."""

    stages = StagesField(label="Stages this squad covers")
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "stages_%s")
        super().__init__(*args, **kwargs)
        stage_choices(self.fields["stages"])


class StageCoverForm(FormWithErrors):
    """A squad of the cycle to cover one journey stage."""

    squad = forms.ModelChoiceField(
        label="Squad",
        queryset=Squad.objects.none(),
        empty_label="Choose a squad…",
        error_messages={"required": "Choose the squad that covers this stage."},
    )

    def __init__(self, *args, stage: Stage, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        squads = Squad.objects.filter(cycle=cycle) if cycle is not None else Squad.objects.none()
        self.fields["squad"].queryset = squads.exclude(squadstage__stage=stage).order_by(
            "name", "key"
        )


class DriHandoverForm(FormWithErrors):
    person = PersonChoiceField(
        label="New DRI",
        queryset=User.objects.none(),
        empty_label="Choose a member…",
        help_text="Another member takes over; you stay a member.",
    )

    def __init__(self, *args, squad: Squad, **kwargs):
        kwargs.setdefault("auto_id", "handover_%s")
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = (
            User.objects.filter(is_active=True, memberships__squad=squad)
            .exclude(pk=squad.dri_id)
            .select_related("profile")
            .order_by("profile__display_name", "username")
        )


# ---------------------------------------------------------------------------------------
# The OKR, key results, check-ins
# ---------------------------------------------------------------------------------------


class GoalsField(forms.ModelMultipleChoiceField):
    """The company's live goals to tick, in their order, each with its years."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Goal.objects.order_by("position", "starts_year", "id"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(**kwargs)

    def label_from_instance(self, obj) -> str:
        years = (
            str(obj.starts_year)
            if obj.starts_year == obj.ends_year
            else f"{obj.starts_year}–{obj.ends_year}"
        )
        return f"{obj.name} ({years})"


class ObjectiveForm(FormWithErrors):
    objective = forms.CharField(
        label="Objective",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
        help_text="Qualitative and customer-facing: what the customer gets.",
        validators=[validate_visible],
    )
    goals = GoalsField(
        label="Company goals it serves",
        help_text="The goals this objective shows progress towards.",
    )
    # What the editor showed (squads.services.objective_version); blank: no check.
    version = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Offered once the company has goals.
        if not self.fields["goals"].queryset.exists():
            del self.fields["goals"]

    @property
    def offers_goals(self) -> bool:
        return "goals" in self.fields


class GoalForm(FormWithErrors):
    """A company goal. Its key is asked only when it is created (blank: made from the name)."""

    name = forms.CharField(label="Name", max_length=200, validators=[validate_visible])
    key = _key_field("Used in links. Leave blank to make one from the name.", required=False)
    description = forms.CharField(
        label="Description",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The aspiration, in the words the company uses outside.",
    )
    customer_success = forms.CharField(
        label="Customer success in this goal",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What customers succeed at when this goal is met.",
        validators=[validate_visible],
    )
    starts_year = forms.IntegerField(
        label="From year", min_value=services.GOAL_YEAR_MIN, max_value=services.GOAL_YEAR_MAX
    )
    ends_year = forms.IntegerField(
        label="To year", min_value=services.GOAL_YEAR_MIN, max_value=services.GOAL_YEAR_MAX
    )
    owner = PersonChoiceField(label="Owner", queryset=User.objects.none(), required=False)
    segments = forms.ModelMultipleChoiceField(
        label="Segments it is about",
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Optional: the customer segments whose success outcome this goal is about.",
    )

    # What the conflict view compares, and the names it shows them by.
    VERSIONED_FIELDS = ("name", "description", "customer_success", "starts_year", "ends_year")

    def __init__(self, *args, goal: Goal | None = None, **kwargs):
        if goal is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": goal.name,
                    "description": goal.description,
                    "customer_success": goal.customer_success,
                    "starts_year": goal.starts_year,
                    "ends_year": goal.ends_year,
                    "owner": goal.owner_id,
                    "segments": [segment.pk for segment in goal.segments.all()],
                },
            )
        super().__init__(*args, **kwargs)
        self.goal = goal
        if goal is not None:
            del self.fields["key"]
        # A deactivated owner stays shown, so saving does not drop them unseen.
        self.fields["owner"].queryset = people(keep=[goal.owner_id] if goal is not None else [])
        self.fields["segments"].queryset = Segment.objects.order_by(
            F("priority").asc(nulls_last=True), "name", "id"
        )

    def clean(self):
        data = super().clean()
        problems = services.goal_problems(
            {
                "name": data.get("name") or "",
                "description": data.get("description") or "",
                "customer_success": data.get("customer_success") or "",
                "starts_year": data.get("starts_year"),
                "ends_year": data.get("ends_year"),
                "owner": data.get("owner"),
            }
        )
        for name, message in problems.items():
            if name not in self.errors:
                self.add_error(name, message)
        return data

    def fields_for_service(self) -> services.GoalFields:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "customer_success": data["customer_success"],
            "starts_year": data["starts_year"],
            "ends_year": data["ends_year"],
            "owner": data["owner"],
        }


class KeyResultForm(FormWithErrors):
    """A key result's definition. On edit its key is fixed; on squad creation it is optional."""

    key = _key_field("Short, used in links, e.g. activation.")
    name = forms.CharField(
        label="Name", max_length=200, help_text="What is measured.", validators=[validate_visible]
    )
    unit = forms.CharField(label="Unit", max_length=40, required=False, help_text="%, days, €…")
    baseline = _number_field("Baseline", help_text="Where it stands at the start.")
    target = _number_field("Target", help_text="Where it should be by the end of the cycle.")
    direction = forms.ChoiceField(
        label="Direction", choices=KeyResult.Direction.choices, initial="increase"
    )

    NUMBERS = ("baseline", "target")

    def __init__(self, *args, okr=None, instance: KeyResult | None = None, optional=False, **kw):
        if instance is not None:
            kw.setdefault(
                "initial",
                {
                    "name": instance.name,
                    "unit": instance.unit,
                    "baseline": plain_number(instance.baseline),
                    "target": plain_number(instance.target),
                    "direction": instance.direction,
                },
            )
        super().__init__(*args, **kw)
        self.okr = okr
        self.instance = instance
        self.optional = optional
        if instance is not None:
            del self.fields["key"]
        if optional:
            for name in ("key", "name", "direction"):
                self.fields[name].required = False

    def is_blank(self) -> bool:
        """On squad creation: nothing typed means no first key result."""
        if not self.is_bound:
            return True
        return not any(
            str(self.data.get(self.add_prefix(n), "")).strip()
            for n in ("key", "name", "unit", "baseline", "target")
        )

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip()
        if self.okr is not None and KeyResult.objects.filter(okr=self.okr, key=key).exists():
            raise forms.ValidationError("Another key result of this OKR uses this key.")
        return key

    def clean(self):
        data = super().clean()
        if self.optional:
            if self.is_blank():
                return data
            for name, message in (("key", "Give it a key."), ("name", "Name what is measured.")):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        if self.optional and not data.get("direction") and "direction" not in self.errors:
            data["direction"] = KeyResult.Direction.INCREASE
        if "direction" in data:
            problems = services.key_result_problems(
                name=data.get("name") or "",
                baseline=data.get("baseline"),
                target=data.get("target"),
                direction=data["direction"],
            )
            for name, message in problems.items():
                if name not in self.errors:
                    self.add_error(name, message)
        return data

    def fields_for_service(self) -> services.KeyResultFields:
        data = self.cleaned_data
        return {
            "key": data.get("key", ""),
            "name": data["name"],
            "unit": data["unit"],
            "baseline": data["baseline"],
            "target": data["target"],
            "direction": data["direction"],
        }


CONFIDENCE_CHOICES = [("", "Choose…")] + [
    (n, {1: "1 · not at all", 5: "5 · a coin toss", 10: "10 · certain"}.get(n, str(n)))
    for n in range(1, 11)
]


class CheckInForm(FormWithErrors):
    value = _number_field("Value", required=True)
    confidence = forms.TypedChoiceField(
        label="Confidence",
        choices=CONFIDENCE_CHOICES,
        coerce=int,
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What moved it, what worries you.",
    )

    def __init__(self, *args, key_result: KeyResult, **kwargs):
        kwargs.setdefault("auto_id", f"checkin_{key_result.pk}_%s")
        super().__init__(*args, **kwargs)
        if key_result.unit:
            self.fields["value"].label = f"Value ({key_result.unit})"


# ---------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------

SECTION_HELP = {
    "current_experience": "The customer's pain today, in their words.",
    "desired_experience": (
        "What the customer experiences tomorrow, by moment. Start a line with a moment such "
        "as “Day 1:”, “Week 2:” or “Month 3:”."
    ),
    "success_metrics": "The shared numbers the whole squad watches, and how often.",
}


class PlanSectionForm(FormWithErrors):
    text = forms.CharField(
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6, "autofocus": True}),
    )

    def __init__(self, *args, section: str, label: str, **kwargs):
        kwargs.setdefault("auto_id", f"{section}_%s")
        super().__init__(*args, **kwargs)
        self.fields["text"].label = label
        self.fields["text"].help_text = SECTION_HELP.get(section, "")


class CommentForm(FormWithErrors):
    body = forms.CharField(
        label="Comment",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the comment first."},
    )


class NotDoingForm(FormWithErrors):
    """The not-doing list as editable lines: change, clear or tick "remove" on any line.

    Always offers an empty line or two for new entries; "Add a line" asks for one more
    without saving, so the list edits as a list without any script.
    """

    MAX_LINES = services.NOT_DOING_MAX_LINES
    SPARE = 1

    def __init__(self, *args, lines=(), **kwargs):
        kwargs.setdefault("auto_id", "not_doing_%s")
        super().__init__(*args, **kwargs)
        if self.is_bound:
            try:
                count = int(self.data.get("count", 0))
            except (TypeError, ValueError):
                count = 0
            count = max(0, min(count, self.MAX_LINES))
        else:
            count = len(lines) + self.SPARE
            self.initial = {f"line_{i}": text for i, text in enumerate(lines)}
        self.count = count
        for i in range(count):
            self.fields[f"line_{i}"] = forms.CharField(
                label=f"Line {i + 1}",
                required=False,
                max_length=services.NOT_DOING_MAX_LENGTH,
                widget=forms.TextInput(attrs={"class": "not-doing__input"}),
            )
            self.fields[f"remove_{i}"] = forms.BooleanField(label="Remove", required=False)

    def rows(self):
        return [(self[f"line_{i}"], self[f"remove_{i}"]) for i in range(self.count)]

    def clean(self):
        data = super().clean()
        lines = [
            "" if data.get(f"remove_{i}") else data.get(f"line_{i}", "") for i in range(self.count)
        ]
        for index, message in services.not_doing_problems(lines).items():
            self.add_error(f"line_{index}", message)
        data["items"] = [line for line in lines if line.strip()]
        return data

    @classmethod
    def posted(cls, lines: list[str], version: int) -> NotDoingForm:
        """The lines as if typed into the form and posted (so errors can sit beside them)."""
        data = {"count": str(len(lines)), "version": str(version)}
        data.update({f"line_{i}": line for i, line in enumerate(lines)})
        form = cls(data)
        form.is_valid()
        return form

    def with_extra_line(self) -> NotDoingForm:
        """The same input, one empty line longer, unvalidated, for "Add a line"."""
        data = self.data.copy()
        data["count"] = str(min(self.count + 1, self.MAX_LINES))
        return NotDoingForm(data, auto_id=self.auto_id)


IMPACT_CHOICES = [("", "Not rated")] + [
    (n, f"{n:+d}" if n else "0") for n in range(IMPACT_MIN, IMPACT_MAX + 1)
]


class StageChoiceField(forms.ModelChoiceField):
    """Stages by name; prefixed with their journey when there is more than one journey."""

    show_journey = True

    def label_from_instance(self, obj) -> str:
        return f"{obj.journey.name} · {obj.name}" if self.show_journey else obj.name


_DATE_ATTRS = {"type": "date", "min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()}


class InitiativeForm(FormWithErrors):
    key = _key_field("Short, used in links, e.g. assessment-tool. It cannot change later.")
    title = forms.CharField(label="Title", max_length=300, validators=[validate_visible])
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    function = _function_field(help_text="The function that builds it.")
    stage = StageChoiceField(
        label="Journey stage",
        queryset=Stage.objects.none(),
        required=False,
        empty_label="No particular stage",
    )
    segment = forms.ModelChoiceField(
        label="Customer segment",
        queryset=Segment.objects.none(),
        required=False,
        empty_label="All segments",
    )
    starts = forms.DateField(
        label="Starts",
        widget=forms.DateInput(attrs=_DATE_ATTRS),
        validators=[validate_date_in_range],
    )
    ends = forms.DateField(
        label="Ends", widget=forms.DateInput(attrs=_DATE_ATTRS), validators=[validate_date_in_range]
    )
    headcount = forms.DecimalField(
        label="Headcount",
        max_digits=8,
        decimal_places=2,
        min_value=Decimal(0),
        initial=Decimal(0),
        help_text="Full-time people, e.g. 1.5.",
        widget=forms.NumberInput(attrs={"step": "0.25"}),
    )
    status = forms.ChoiceField(
        label="Status", choices=Initiative.Status.choices, initial="proposed"
    )
    impact_team = forms.TypedChoiceField(
        label="Team", choices=IMPACT_CHOICES, coerce=int, empty_value=None, required=False
    )
    impact_business = forms.TypedChoiceField(
        label="Business", choices=IMPACT_CHOICES, coerce=int, empty_value=None, required=False
    )
    impact_customer = forms.TypedChoiceField(
        label="Customer", choices=IMPACT_CHOICES, coerce=int, empty_value=None, required=False
    )
    counter_measure = forms.CharField(
        label="Counter-measure",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When the work leans to one side: what you will watch on the others.",
    )

    milestones = forms.ModelMultipleChoiceField(
        label="Serves milestones",
        queryset=Milestone.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="The steps of the segment's time-to-value map this work helps customers "
        "reach. Hold Ctrl (or ⌘) to choose several.",
    )

    # What an editor of an initiative shows: the model's co-written fields.
    VALUE_FIELDS = tuple(name.removesuffix("_id") for name in Initiative.VERSIONED)

    def __init__(
        self,
        *args,
        squad: Squad,
        instance: Initiative | None = None,
        functions=(),
        **kwargs,
    ):
        prefix_id = f"initiative_{instance.pk}_%s" if instance else "initiative_new_%s"
        kwargs.setdefault("auto_id", prefix_id)
        if instance is not None:
            initial = {name: getattr(instance, name) for name in self.VALUE_FIELDS}
            initial["headcount"] = plain_number(instance.headcount)
            kwargs.setdefault("initial", initial)
        else:
            kwargs.setdefault("initial", {"starts": squad.cycle.starts, "ends": squad.cycle.ends})
        super().__init__(*args, **kwargs)
        self.squad = squad
        self.instance = instance
        if instance is not None:
            del self.fields["key"]
        self.fields["function"].widget.options = functions
        self.fields["stage"].queryset = Stage.objects.select_related("journey").order_by(
            "journey__name", "journey_id", "position", "id"
        )
        self.fields["stage"].show_journey = (
            Journey.objects.filter(stages__isnull=False, stages__removal__isnull=True)
            .distinct()
            .count()
            > 1
        )
        self.fields["segment"].queryset = Segment.objects.order_by("priority", "name")
        self._milestone_choices(instance)

    def _milestone_choices(self, instance: Initiative | None) -> None:
        """The milestones of the initiative's segment (and those it serves already); all
        segments' milestones, grouped by segment, when it has none."""
        field = self.fields["milestones"]
        field.queryset = Milestone.objects.select_related("segment")
        chosen: list[int] = []
        if instance is not None:
            chosen = list(instance.milestone_links.values_list("milestone_id", flat=True))
            self.initial.setdefault("milestones", chosen)
        shown = field.queryset.order_by(
            F("segment__priority").asc(nulls_last=True), "segment__name", "segment_id", "position"
        )
        if instance is not None and instance.segment_id is not None:
            shown = shown.filter(Q(segment_id=instance.segment_id) | Q(pk__in=chosen))
        groups: dict[str, list[tuple[int, str]]] = {}
        for milestone in shown[:500]:
            label = f"Day {milestone.expected_day}: {milestone.name}"
            groups.setdefault(milestone.segment.name, []).append((milestone.pk, label))
        field.choices = list(groups.items())

    def impact_fields(self):
        return [self["impact_team"], self["impact_business"], self["impact_customer"]]

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].strip()
        if Initiative.objects.filter(squad=self.squad, key=key).exists():
            raise forms.ValidationError("Another initiative of this squad uses this key.")
        return key

    def clean(self):
        data = super().clean()
        if all(name in data for name in self.VALUE_FIELDS):
            for name, message in services.initiative_problems(self.values()).items():
                if name not in self.errors:
                    self.add_error(name, message)
        return data

    def values(self) -> services.InitiativeFields:
        data = self.cleaned_data
        return {name: data[name] for name in self.VALUE_FIELDS}  # type: ignore[return-value]

    def chosen_milestones(self) -> list[Milestone]:
        return list(self.cleaned_data.get("milestones") or [])
