"""The subscription form: what a person may choose depends on who they are (core.access):
who manages webhooks chooses any format and any squad or none; a squad's DRI chooses Slack
or Teams, for one of their own squads."""

from __future__ import annotations

from django import forms

from core import access
from core.events import EVENTS
from core.forms import FormWithErrors
from squads.models import Squad
from webhooks.models import Subscription


class SquadChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Squad) -> str:
        return f"{obj.name} ({obj.cycle.name})"


class SubscriptionForm(FormWithErrors):
    name = forms.CharField(
        max_length=100, help_text="Where it sends to, as people know it: “#onboarding-squad”."
    )
    url = forms.CharField(
        label="Address",
        max_length=2000,
        help_text="The receiver's https:// address: a Slack or Teams incoming webhook, or "
        "your own endpoint for Throughline JSON.",
        widget=forms.URLInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    format = forms.ChoiceField(choices=Subscription.Format.choices)
    events = forms.MultipleChoiceField(
        choices=list(EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    squad = SquadChoice(
        queryset=Squad.objects.none(),
        required=False,
        empty_label="Every squad",
        help_text="Only the events that concern this squad.",
    )
    active = forms.BooleanField(required=False, initial=True, label="Send events")

    def __init__(self, *args, actor: access.Actor, **kwargs):
        super().__init__(*args, **kwargs)
        squads = Squad.objects.select_related("cycle").order_by("-cycle__starts", "name")
        if access.can_manage_webhooks(actor):
            self.fields["squad"].queryset = squads
        else:
            self.fields["squad"].queryset = squads.filter(pk__in=actor.dri_of)
            self.fields["squad"].required = True
            self.fields["squad"].empty_label = None
            self.fields["squad"].help_text = "A squad you lead: its events only."
            self.fields["format"].choices = [
                c for c in Subscription.Format.choices if c[0] in access.CHAT_FORMATS
            ]
            self.fields["format"].help_text = (
                "As a squad's DRI you add Slack and Teams channels for your squad; "
                "operations and leadership add the others."
            )
