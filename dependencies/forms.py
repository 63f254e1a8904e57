"""The board's filters, recording a dependency, and the provider's answers."""

from __future__ import annotations

import datetime as dt

from django import forms

from core.forms import FormWithErrors, QuickSelect
from core.keys import KEY_HELP, KEY_MAX_LENGTH, key_validator
from core.people import choosable, display_name
from core.validators import DATE_MAX, DATE_MIN, validate_date_in_range, validate_visible
from dependencies.models import BoardFilters, Dependency
from dependencies.services import (
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    WHAT_MAX_LENGTH,
    past_due_warning,
)
from journeys.models import Stage
from squads.models import Initiative, Squad

FUNCTION_PREFIX = "function:"
MAX_WITHIN_DAYS = 366
PAGE_SIZE = 50


# ---------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------

STATUS_FILTERS = [
    ("", "Any status"),
    ("open", "Still open"),
    *Dependency.Status.choices,
]
GROUPS = [("provider", "Provider"), ("month", "Due month"), ("none", "No grouping")]
NODE_KINDS = [("squads", "Squads"), ("initiatives", "Initiatives")]


class BoardFilterForm(forms.Form):
    """The board's and the graph's filters, read from the URL.

    A filter that does not make sense (an unknown squad, a negative number of days) shows
    its error beside the field and is left out; the others still apply.
    """

    status = forms.ChoiceField(label="Status", choices=STATUS_FILTERS, required=False)
    stage = forms.ChoiceField(label="Journey stage", required=False)
    within = forms.IntegerField(
        label="Due within",
        required=False,
        min_value=1,
        max_value=MAX_WITHIN_DAYS,
        widget=forms.NumberInput(attrs={"placeholder": "days, e.g. 14", "inputmode": "numeric"}),
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)
    blocking = forms.BooleanField(label="Blocking only", required=False)
    dep = forms.CharField(label="Dependency key", required=False, max_length=KEY_MAX_LENGTH)

    def __init__(
        self,
        data,
        *,
        squads: list,  # each with pk, key and name (selectors.SquadChoice)
        functions: list[str],
        stages: list[Stage],
        default_status: str = "",
    ) -> None:
        data = data.copy()
        if "status" not in data and default_status:
            data["status"] = default_status
        super().__init__(data)
        squad_choices = [(s.key, s.name) for s in squads]
        # Every squad of the cycle, twice: drawn without a template per option.
        self.fields["from"] = forms.ChoiceField(
            label="Needed by",
            choices=[("", "Any squad"), *squad_choices],
            required=False,
            widget=QuickSelect,
        )
        self.fields["to"] = forms.ChoiceField(
            label="Provided by",
            required=False,
            widget=QuickSelect,
            choices=[
                ("", "Anyone"),
                ("Squads", squad_choices),
                ("Functions", [(f"{FUNCTION_PREFIX}{f}", f) for f in functions]),
            ],
        )
        self.fields["stage"].choices = [
            ("", "Any stage"),
            *[(s.ref, f"{s.journey.name}: {s.name}") for s in stages],
        ]
        # Field order on the page.
        self.order_fields(["from", "to", "status", "stage", "within", "overdue", "blocking"])
        self._squads = {s.key: s for s in squads}
        self._stages = {s.ref: s for s in stages}

    def value(self, name: str):
        """The cleaned value of a valid filter, else its empty value."""
        if not self.is_bound:
            return None
        self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None

    def filters(self, *, today: dt.date, cycle_id: int | None) -> BoardFilters:
        needer = self._squads.get(self.value("from") or "")
        to = self.value("to") or ""
        provider_function = (
            to.removeprefix(FUNCTION_PREFIX) if to.startswith(FUNCTION_PREFIX) else ""
        )
        provider = self._squads.get(to) if not provider_function else None
        stage = self._stages.get(self.value("stage") or "")
        key = (self.value("dep") or "").strip()
        return BoardFilters(
            today=today,
            # A dependency asked for by its key is shown whichever cycle it belongs to.
            cycle_id=None if key else cycle_id,
            needer_squad_id=needer.pk if needer else None,
            provider_squad_id=provider.pk if provider else None,
            provider_function=provider_function,
            status=self.value("status") or "",
            stage_id=stage.pk if stage else None,
            overdue=bool(self.value("overdue")),
            within_days=self.value("within"),
            blocking=bool(self.value("blocking")),
            key=key,
        )

    def active(self) -> list[tuple[str, str]]:
        """The filters in use, as (label, value) for the page's summary line."""
        found = []
        for name in ("from", "to", "status", "stage", "within", "dep"):
            value = self.value(name)
            if not value:
                continue
            field = self.fields[name]
            label = str(value)
            if isinstance(field, forms.ChoiceField):
                label = _choice_label(field.choices, value)
            if name == "within":
                label = f"{value} days"
            found.append((str(field.label), label))
        if self.value("overdue"):
            found.append(("Overdue", "only"))
        if self.value("blocking"):
            found.append(("Blocking", "only"))
        return found


def _choice_label(choices, value) -> str:
    for key, label in choices:
        if isinstance(label, list | tuple):
            found = _choice_label(label, value)
            if found != str(value):
                return found
        elif key == value:
            return str(label)
    return str(value)


# ---------------------------------------------------------------------------------------
# Recording and editing a dependency
# ---------------------------------------------------------------------------------------


class DependencyForm(FormWithErrors):
    """What the needing side writes: what, by when, whether it blocks, a note."""

    what = forms.CharField(
        label="What is needed",
        max_length=WHAT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Concrete enough that the provider knows when it is done.",
        error_messages={"required": "Say what is needed."},
        validators=[validate_visible],
    )
    due = forms.DateField(
        label="Due",
        widget=forms.DateInput(
            attrs={"type": "date", "min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()},
            format="%Y-%m-%d",
        ),
        help_text="The date the needing side must have it.",
        error_messages={"required": "Say by when it is needed.", "invalid": "Enter a date."},
        validators=[validate_date_in_range],
    )
    blocking = forms.BooleanField(
        label="Blocking: our work cannot go on without it", required=False
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm_late = forms.BooleanField(
        label="It is already late: save it with this date anyway",
        required=False,
    )

    def __init__(
        self, *args, today: dt.date | None = None, current_due: dt.date | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.current_due = current_due
        # Set by clean(): the due date given is already past (and is not the one it had).
        self.late = False

    def clean(self):
        data = super().clean()
        due = data.get("due")
        moved = self.today is not None and due is not None and due != self.current_due
        if moved and (warning := past_due_warning(due, today=self.today)):
            self.late = True
            if not data.get("confirm_late"):
                self.add_error(
                    "due",
                    forms.ValidationError(
                        f"{warning} Choose a later date, or tick the box below to save it "
                        "as it is.",
                        code="past_due",
                    ),
                )
        return data


class DependencyCreateForm(DependencyForm):
    """Who needs it (the squad or one of its initiatives), from exactly one provider."""

    from_ref = forms.ChoiceField(label="Who needs it")
    to_squad = forms.ChoiceField(label="A squad", required=False)
    to_initiative = forms.ChoiceField(label="An initiative", required=False)
    to_function = forms.CharField(
        label="A function",
        required=False,
        max_length=100,
        help_text="A department that is not a squad, e.g. People or Legal.",
        validators=[validate_visible],
    )
    owner = forms.ChoiceField(
        label="Owner on the provider side",
        required=False,
        help_text=(
            "Optional: the person who answers for it, a member of the providing squad "
            "(or of the providing function)."
        ),
    )
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=KEY_MAX_LENGTH,
        validators=[key_validator],
        help_text=f"Optional; made from what is needed when empty. {KEY_HELP}",
    )

    field_order = [
        "from_ref",
        "to_squad",
        "to_initiative",
        "to_function",
        "what",
        "due",
        "blocking",
        "owner",
        "note",
        "key",
    ]

    def __init__(
        self,
        *args,
        needers: list[Squad],
        squads: list[Squad],
        initiatives: list[Initiative],
        people: list,
        functions: list[str],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.functions = functions
        self._needers = {s.key: s for s in needers}
        self._squads = {s.key: s for s in squads}
        self._initiatives = {i.ref: i for i in initiatives}
        self._people = {str(p.pk): p for p in people}

        by_squad: dict[int, list[Initiative]] = {}
        for initiative in initiatives:
            by_squad.setdefault(initiative.squad_id, []).append(initiative)
        self.fields["from_ref"].choices = [
            (
                squad.name,
                [(squad.key, f"{squad.name}: the squad as a whole")]
                + [(i.ref, i.title) for i in by_squad.get(squad.pk, [])],
            )
            for squad in needers
        ]
        self.fields["to_squad"].choices = [("", "—")] + [(s.key, s.name) for s in squads]
        self.fields["to_initiative"].choices = [("", "—")] + [
            (s.name, [(i.ref, i.title) for i in by_squad[s.pk]])
            for s in squads
            if by_squad.get(s.pk)
        ]
        self.fields["to_function"].widget.attrs["list"] = "known-functions"
        self.fields["owner"].choices = [("", "Nobody named yet")] + [
            (str(p.pk), display_name(p)) for p in people
        ]

    def clean(self):
        data = super().clean()
        chosen = [name for name in ("to_squad", "to_initiative", "to_function") if data.get(name)]
        if len(chosen) != 1:
            raise forms.ValidationError(
                "Choose exactly one provider: a squad, an initiative or a function"
                + (f" (you chose {len(chosen)})." if chosen else "."),
                code="provider",
            )
        return data

    def parties(self) -> dict:
        """The service's keyword arguments for who needs it and who provides it."""
        data = self.cleaned_data
        ref = data["from_ref"]
        needer = {"from_squad": self._needers.get(ref)}
        if "/" in ref:
            needer = {"from_initiative": self._initiatives.get(ref)}
        return {
            **needer,
            "to_squad": self._squads.get(data.get("to_squad") or ""),
            "to_initiative": self._initiatives.get(data.get("to_initiative") or ""),
            "to_function": data.get("to_function") or "",
            "owner": self._people.get(data.get("owner") or ""),
        }

    def needer_squad(self) -> Squad | None:
        ref = (self.data.get("from_ref") or "") if self.is_bound else self.initial.get("from_ref")
        ref = ref or ""
        return self._needers.get(ref.split("/", 1)[0])


def people_for_owner() -> list:
    return list(choosable())


# ---------------------------------------------------------------------------------------
# The provider's answer
# ---------------------------------------------------------------------------------------


# What the form of each answer that asks something asks: (reason label, help, button).
ANSWER_FORMS = {
    "decline": (
        "Why decline?",
        "Required; added to the note with your name and the date.",
        "Decline",
    ),
    "at_risk": (
        "Why is it at risk?",
        "Required; shown with its status, told to the squad that needs it and added to the "
        "note with your name and the date.",
        "Mark at risk",
    ),
    "accept": ("", "", "Accept"),
}


class RespondForm(FormWithErrors):
    action = forms.ChoiceField(
        choices=[
            ("accept", "Accept"),
            ("decline", "Decline"),
            ("at_risk", "At risk"),
            ("done", "Done"),
        ]
    )
    reason = forms.CharField(
        label="Why decline?",
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "autofocus": True}),
        help_text="Required; added to the note with your name and the date.",
    )
    owner = forms.ChoiceField(
        label="Owner on the provider side",
        required=False,
        help_text="Nobody owns it yet: who answers for it from now on. Left empty, it stays "
        "unowned, unless you are on the provider side yourself: then it is yours.",
    )
    was = forms.ChoiceField(choices=Dependency.Status.choices, required=False)

    def __init__(self, *args, people: list | None = None, **kwargs) -> None:
        """`people`: whom the owner picker offers (services.provider_people); none, no
        owner is chosen here."""
        super().__init__(*args, **kwargs)
        self._people = {str(p.pk): p for p in people or []}
        self.asks_owner = people is not None
        self.fields["owner"].choices = [("", "Nobody yet")] + [
            (str(p.pk), display_name(p)) for p in people or []
        ]
        action = self.data.get("action") if self.is_bound else self.initial.get("action")
        if action in ANSWER_FORMS and action != "accept":
            label, help_text, _button = ANSWER_FORMS[action]
            self.fields["reason"].label = label
            self.fields["reason"].help_text = help_text

    def chosen_owner(self):
        """The person picked as owner, or None."""
        return self._people.get(self.cleaned_data.get("owner") or "")
