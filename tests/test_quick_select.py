"""core.forms.QuickSelect draws what Django's Select draws, escaped the same way."""

from __future__ import annotations

import re

import pytest
from django import forms

from core.forms import QuickSelect

CHOICES = [("", "Any squad"), ("s1", 'Growth <b>"&"</b>'), ("s&2", "Second"), ("3", "Third")]


def markup(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


@pytest.mark.parametrize("data", [{}, {"squad": "s1"}, {"squad": "s&2"}, {"squad": "nope"}])
@pytest.mark.parametrize("required", [False, True])
def test_a_long_select_draws_what_a_select_draws(data, required):
    class Django(forms.Form):
        squad = forms.ChoiceField(label="Squad", required=required, choices=CHOICES)

    class Long(forms.Form):
        squad = forms.ChoiceField(
            label="Squad", required=required, choices=CHOICES, widget=QuickSelect
        )

    django_form, long_form = Django(data or None), Long(data or None)
    django_form.is_valid(), long_form.is_valid()
    assert markup(long_form["squad"]) == markup(django_form["squad"])
    assert "<b>" not in str(long_form["squad"])
