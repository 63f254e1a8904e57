"""The season's forms: they read what was typed and picked; planning.season.services checks
it against the data and writes."""

from __future__ import annotations

from django import forms
from django.conf import settings

from core.forms import FormWithErrors
from core.keys import KEY_HELP, KEY_MAX_LENGTH
from core.models import Cycle
from core.validators import DATE_FORMAT, DATE_MAX, DATE_MIN
from planning.season.selectors import CarrySquad
from planning.season.services import NAME_MAX, REASON_MAX

_DATE_ATTRS = {"type": "date", "min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()}
_BAD_DATE = f"Write the date as {DATE_FORMAT}, a real day."


def _date_field(label: str, required: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs=_DATE_ATTRS),
        error_messages={"required": required, "invalid": _BAD_DATE},
    )


class CycleForm(FormWithErrors):
    """A new cycle: what it is called, its key and its dates (checked by the service)."""

    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX,
        help_text="As people say it: FY2028, Q3 2027.",
        error_messages={"required": "Name the cycle."},
    )
    key = forms.CharField(
        label="Key",
        max_length=KEY_MAX_LENGTH,
        help_text=f"Used in links, e.g. fy2028. {KEY_HELP}",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "none"}),
        error_messages={"required": "Give it a key."},
    )
    starts = _date_field("Starts", "Give the cycle's first day.")
    ends = _date_field("Ends", "Give the cycle's last day.")


class MoveForm(FormWithErrors):
    """One move of a cycle: to which state, from the state the person saw, and why."""

    to = forms.ChoiceField(choices=Cycle.State.choices, widget=forms.HiddenInput)
    seen = forms.ChoiceField(choices=Cycle.State.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Why",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    override = forms.BooleanField(
        label="Commit although the readiness check lists what still blocks",
        required=False,
    )

    def __init__(self, *args, reason_label: str = "", reason_help: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if reason_label:
            self.fields["reason"].label = reason_label
        self.fields["reason"].help_text = reason_help

    def clean(self):
        data = super().clean()
        if "to" in self.errors or "seen" in self.errors:
            # Hidden fields: only a form that was tampered with or outlived a release.
            raise forms.ValidationError(
                "This form no longer matches the season: reload the page and try again."
            )
        return data


# The checkboxes one form may carry: Django refuses a request with more fields than
# DATA_UPLOAD_MAX_NUMBER_FIELDS. Above it, the form picks whole squads instead.
_OTHER_FIELDS = 10


def pick_limit() -> int:
    return max(1, (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 1000) - _OTHER_FIELDS)


class CarryForwardForm(CycleForm):
    """The next cycle, and which of the unfinished work of this one it takes along: each
    initiative, dependency and key result picked one by one (all unfinished ones picked to
    begin with), or, for a cycle with more than one form can carry, whole squads."""

    initiatives = forms.TypedMultipleChoiceField(coerce=int, required=False)
    dependencies = forms.TypedMultipleChoiceField(coerce=int, required=False)
    key_results = forms.TypedMultipleChoiceField(coerce=int, required=False)
    squads = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, candidates: list[CarrySquad], changed_meanwhile: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        total = sum(c.count for c in candidates)
        self.by_squad = total > pick_limit()
        choices = {
            "initiatives": [i.pk for c in candidates for i in c.initiatives],
            "dependencies": [d.pk for c in candidates for d in c.dependencies],
            "key_results": [k.kr.pk for c in candidates for k in c.key_results],
            "squads": [c.squad.pk for c in candidates if c.count],
        }
        for name, ids in choices.items():
            field = self.fields[name]
            field.choices = [(pk, pk) for pk in ids]
            field.error_messages["invalid_choice"] = changed_meanwhile
        # To begin with: everything unfinished (a key result that reached its target is not).
        self.initial.update(
            initiatives=choices["initiatives"],
            dependencies=choices["dependencies"],
            key_results=[k.kr.pk for c in candidates for k in c.key_results if not k.reached],
            squads=choices["squads"],
        )

    def picked(self, name: str) -> set[int]:
        """The ids checked in field `name`: as posted, or as preselected."""
        if self.is_bound:
            field = self.fields[name]
            values = self.data.getlist(self.add_prefix(name))
            out = set()
            for value in values:
                try:
                    out.add(field.coerce(value))
                except (TypeError, ValueError):
                    continue
            return out
        return set(self.initial.get(name, ()))

    def work(self) -> tuple[set[int], set[int], set[int]]:
        """The initiatives, dependencies and key results to carry (after is_valid())."""
        data = self.cleaned_data
        if not self.by_squad:
            return set(data["initiatives"]), set(data["dependencies"]), set(data["key_results"])
        squads = set(data["squads"])
        chosen = [c for c in self.candidates if c.squad.pk in squads]
        return (
            {i.pk for c in chosen for i in c.initiatives},
            {d.pk for c in chosen for d in c.dependencies},
            {k.kr.pk for c in chosen for k in c.key_results if not k.reached},
        )
